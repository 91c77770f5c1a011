package commit

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/provenance"
)

// fuzzExchange is what the fuzzed forge answers: the ref advertisement
// (GET info/refs) and the upload-pack response (POST git-upload-pack).
type fuzzExchange struct {
	adv, pack []byte
	packAsked atomic.Bool
}

// fuzzForge serves one fuzzExchange per path prefix /{id}/, so that each
// fuzz input gets its own answers from one shared server.
type fuzzForge struct {
	mu    sync.Mutex
	next  int
	cases map[string]*fuzzExchange
}

func (f *fuzzForge) add(x *fuzzExchange) (string, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := strconv.Itoa(f.next)
	f.cases[id] = x
	return id, func() { f.mu.Lock(); delete(f.cases, id); f.mu.Unlock() }
}

func (f *fuzzForge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	x := f.cases[id]
	f.mu.Unlock()
	switch {
	case x == nil:
		http.NotFound(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(rest, "/info/refs"):
		w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
		w.Write(x.adv)
	case r.Method == http.MethodPost && strings.HasSuffix(rest, "/git-upload-pack"):
		x.packAsked.Store(true)
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		w.Write(x.pack)
	default:
		http.NotFound(w, r)
	}
}

// recorder wraps a real forge and keeps the last advertisement and
// upload-pack response it served.
type recorder struct {
	h         http.Handler
	adv, pack []byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr := httptest.NewRecorder()
	rec.h.ServeHTTP(rr, r)
	body := rr.Body.Bytes()
	switch {
	case strings.HasSuffix(r.URL.Path, "/info/refs"):
		rec.adv = bytes.Clone(body)
	case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		rec.pack = bytes.Clone(body)
	}
	for k, v := range rr.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rr.Code)
	w.Write(body)
}

// pktLine frames s as one git pkt-line.
func pktLine(s string) string {
	return strconv.FormatInt(int64(len(s)+4)+0x10000, 16)[1:] + s
}

// FuzzGitResponses runs the Git checker against a forge that answers with
// fuzzed bytes: the smart-HTTP ref advertisement and the upload-pack
// response (ACK/NAK and shallow lines, side-band framing, the packfile).
// Whatever the bytes, Check must return, in time, either nil or a
// commit-exists CheckError wrapping exactly one of ErrNotFound and
// ErrUnavailable; and it may return nil only if the advertisement names
// the commit or the forge was asked for a pack and sent one.
//
// The seeds are real exchanges recorded from git http-backend (both the
// any-object and the tips-only configuration, for a ref tip, an ancestor
// and a missing commit) plus hand-written advertisements.
func FuzzGitResponses(f *testing.F) {
	missing := strings.Repeat("ab", 20)
	tip := strings.Repeat("c3", 20)
	flush := "0000"
	service := pktLine("# service=git-upload-pack\n") + flush
	f.Add([]byte(service+pktLine(tip+" HEAD\x00multi_ack side-band-64k allow-reachable-sha1-in-want shallow filter no-progress\n")+pktLine(tip+" refs/heads/main\n")+flush), []byte("0008NAK\n"), tip)
	f.Add([]byte(service+pktLine(tip+" refs/heads/main\x00side-band-64k allow-reachable-sha1-in-want shallow filter\n")+flush), []byte("0008NAK\n0005\x01P"), missing)
	f.Add([]byte(service+pktLine(tip+" refs/heads/main\x00side-band\n")+flush), []byte("0008NAK\nPACK\x00\x00\x00\x02\x00\x00\x00\x00"), missing)
	f.Add([]byte(service+flush), []byte{}, missing)
	f.Add([]byte{}, []byte{}, tip)
	forge := &fuzzForge{cases: map[string]*fuzzExchange{}}
	s := httptest.NewServer(forge)
	f.Cleanup(s.Close)
	check := func(ctx context.Context, x *fuzzExchange, sha string) error {
		id, done := forge.add(x)
		defer done()
		g := &Git{
			Client:       s.Client(),
			Rewrites:     Rewrites{{Prefix: "https://github.com/", Replacement: s.URL + "/" + id + "/"}},
			MaxPackBytes: 1 << 20,
		}
		return g.Check(ctx, "https://github.com/octo-org/octo-pkg", sha)
	}
	if gitforge.Available() == nil {
		fg := newForge(f)
		for _, srv := range fg.servers() {
			rec := &recorder{h: srv.handler}
			real := httptest.NewServer(rec)
			g := &Git{Rewrites: Rewrites{{Prefix: "https://github.com/", Replacement: real.URL + "/"}}}
			for _, sha := range []string{fg.head, fg.first, fg.orphan, missing} {
				rec.adv, rec.pack = nil, nil
				want := g.Check(context.Background(), "https://github.com/octo-org/octo-pkg", sha)
				if rec.adv == nil {
					f.Fatalf("%s: no advertisement recorded for %s", srv.name, sha)
				}
				// The recorded answers, replayed, must give the same verdict.
				got := check(context.Background(), &fuzzExchange{adv: rec.adv, pack: rec.pack}, sha)
				if (got == nil) != (want == nil) || errors.Is(got, ErrNotFound) != errors.Is(want, ErrNotFound) {
					f.Fatalf("%s %s: replayed answers give %v, the forge gave %v", srv.name, sha, got, want)
				}
				f.Add(rec.adv, rec.pack, sha)
			}
			real.Close()
		}
	}
	f.Fuzz(func(t *testing.T, adv, pack []byte, sha string) {
		x := &fuzzExchange{adv: adv, pack: pack}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := check(ctx, x, sha)
		if ctx.Err() != nil {
			t.Fatalf("Check did not finish in time against a server that had answered: %v", err)
		}
		if err == nil {
			if !bytes.Contains(bytes.ToLower(adv), []byte(sha)) && !(x.packAsked.Load() && bytes.Contains(pack, []byte("PACK"))) {
				t.Fatalf("Check accepted %s with neither an advertisement naming it nor a pack", sha)
			}
			return
		}
		var ce *provenance.CheckError
		if !errors.As(err, &ce) || ce.Check != CheckName {
			t.Fatalf("error %v is not a %s CheckError", err, CheckName)
		}
		if errors.Is(err, ErrNotFound) == errors.Is(err, ErrUnavailable) {
			t.Fatalf("error %v must wrap exactly one of ErrNotFound and ErrUnavailable", err)
		}
	})
}

// FuzzGitHubAPIResponse runs the GitHubAPI checker against a server that
// answers with a fuzzed status and body. The checker reads only the
// status: 200 means the commit exists, 404 and 422 that it does not, and
// anything else that the question went unanswered, whatever the body.
func FuzzGitHubAPIResponse(f *testing.F) {
	sha := strings.Repeat("d4", 20)
	f.Add(uint16(200), []byte(`{"sha":"`+sha+`","commit":{"message":"m"}}`))
	f.Add(uint16(404), []byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`))
	f.Add(uint16(422), []byte(`{"message":"No commit found for SHA: `+sha+`"}`))
	f.Add(uint16(403), []byte(`{"message":"API rate limit exceeded"}`))
	f.Add(uint16(500), []byte{})
	f.Add(uint16(200), bytes.Repeat([]byte("x"), 1<<16))
	var status atomic.Int32
	var body atomic.Pointer[[]byte]
	var mu sync.Mutex // one input at a time: the server reads the shared answer
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		w.Write(*body.Load())
	}))
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, code uint16, b []byte) {
		mu.Lock()
		defer mu.Unlock()
		// Final statuses only: 1xx are interim and 3xx would be followed.
		c := 200 + int(code)%400
		if c >= 300 && c < 400 {
			c += 100
		}
		status.Store(int32(c))
		body.Store(&b)
		g := &GitHubAPI{BaseURL: s.URL, Client: s.Client()}
		err := g.Check(context.Background(), "https://github.com/octo-org/octo-pkg", sha)
		var want error
		switch {
		case c == http.StatusOK:
		case c == http.StatusNotFound || c == http.StatusUnprocessableEntity:
			want = ErrNotFound
		default:
			want = ErrUnavailable
		}
		if want == nil {
			if err != nil {
				t.Fatalf("status %d: %v", c, err)
			}
			return
		}
		var ce *provenance.CheckError
		if !errors.As(err, &ce) || ce.Check != CheckName || !errors.Is(err, want) {
			t.Fatalf("status %d: err = %v, want a %s CheckError wrapping %v", c, err, CheckName, want)
		}
	})
}
