package publisher

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/provenant/provenant/npmwire"
)

// fakeRegistry is an in-process npm registry for unit tests: it serves
// packuments and /-/whoami, records every request and accepts (or, with
// reject set, refuses) publish PUTs.
type fakeRegistry struct {
	t      *testing.T
	srv    *httptest.Server
	token  string // the one accepted bearer token
	mu     sync.Mutex
	pkgs   map[string]*npmwire.Packument
	puts   []recordedPut
	reqs   []string
	fail   map[string]int // "METHOD path" → how many times to answer 503 first
	reject string         // when set, PUTs get 422 with this message
	// lostAnswers is how many accepted PUTs are answered 502, as when a
	// proxy loses the registry's answer.
	lostAnswers int
}

type recordedPut struct {
	path   string
	header http.Header
	body   []byte
}

func newFakeRegistry(t *testing.T, token string) *fakeRegistry {
	f := &fakeRegistry{t: t, token: token, pkgs: map[string]*npmwire.Packument{}, fail: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeRegistry) URL() string { return f.srv.URL + "/" }

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Method + " " + r.URL.EscapedPath()
	f.reqs = append(f.reqs, key)
	if n := f.fail[key]; n > 0 {
		f.fail[key] = n - 1
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":"try later"}`, http.StatusServiceUnavailable)
		return
	}
	authed := r.Header.Get("Authorization") == "Bearer "+f.token
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.URL.Path == "/-/whoami" {
		if !authed {
			writeJSON(http.StatusUnauthorized, npmwire.ErrorBody{Error: "bad token"})
			return
		}
		writeJSON(http.StatusOK, npmwire.WhoamiResponse{Username: "ci-bot"})
		return
	}
	name, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/"))
	if err != nil {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		p, ok := f.pkgs[name]
		if !ok {
			writeJSON(http.StatusNotFound, npmwire.ErrorBody{Error: "Not found"})
			return
		}
		writeJSON(http.StatusOK, p)
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		f.puts = append(f.puts, recordedPut{path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body})
		if !authed {
			writeJSON(http.StatusUnauthorized, npmwire.ErrorBody{Error: "bad token"})
			return
		}
		if f.reject != "" {
			writeJSON(http.StatusUnprocessableEntity, npmwire.ErrorBody{Error: f.reject})
			return
		}
		b, err := npmwire.ParsePublishBody(body)
		if err != nil {
			writeJSON(http.StatusBadRequest, npmwire.ErrorBody{Error: err.Error()})
			return
		}
		v, m := b.Version()
		p := f.pkgs[name]
		if p == nil {
			p = &npmwire.Packument{ID: name, Name: name, DistTags: map[string]string{}, Versions: map[string]json.RawMessage{}}
			f.pkgs[name] = p
		}
		if _, dup := p.Versions[v]; dup {
			writeJSON(http.StatusForbidden, npmwire.ErrorBody{Error: "You cannot publish over the previously published versions: " + v + "."})
			return
		}
		p.Versions[v] = m
		for tag, tv := range b.DistTags {
			p.DistTags[tag] = tv
		}
		if f.lostAnswers > 0 {
			f.lostAnswers--
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		writeJSON(http.StatusCreated, map[string]bool{"ok": true})
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func (f *fakeRegistry) putCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.puts)
}

func (f *fakeRegistry) lastPut() recordedPut {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.puts) == 0 {
		f.t.Fatal("no PUT recorded")
	}
	return f.puts[len(f.puts)-1]
}

func (f *fakeRegistry) addVersion(name, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pkgs[name]
	if p == nil {
		p = &npmwire.Packument{ID: name, Name: name, DistTags: map[string]string{}, Versions: map[string]json.RawMessage{}}
		f.pkgs[name] = p
	}
	p.Versions[version] = json.RawMessage(`{"name":"` + name + `","version":"` + version + `"}`)
	p.DistTags["latest"] = version
}
