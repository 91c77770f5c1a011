package hardening

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/provenant/provenant/npmwire"
)

// presign builds n good provenance publishes of name at the versions
// version(i), signing in a few workers.
func (s *stack) presign(t *testing.T, name string, n int, version func(i int) string, tag func(i int) string) []*publish {
	t.Helper()
	out := make([]*publish, n)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				v := version(i)
				tgz := goodTarball(t, packageJSON(name, v))
				p := newPublish(name, v, tgz, s.provenanceBundle(t, s.job(), name, v, tgz))
				p.tag = tag(i)
				out[i] = p
			}
		})
	}
	wg.Wait()
	return out
}

// TestConcurrentDistinctVersions publishes 200 versions of one package at
// once, with provenance, while readers fetch the packument and tarballs:
// every version is stored exactly once with its own tag, and no reader
// ever sees a version whose tarball is missing or differs from its
// integrity.
func TestConcurrentDistinctVersions(t *testing.T) {
	const n = 200
	s := newStack(t, stackOptions{})
	token := addUser(t, s.srv.URL, "alice")
	const name = "octo-pkg"
	first := newPublish(name, "1.0.0", goodTarball(t, packageJSON(name, "1.0.0")), nil)
	if r := s.do(t, http.MethodPut, first.path(), token, first.body(t)); r.status != http.StatusCreated {
		t.Fatalf("first publish: %d %s", r.status, r.body)
	}
	pubs := s.presign(t, name, n, func(i int) string { return fmt.Sprintf("2.%d.0", i) }, func(i int) string { return fmt.Sprintf("t%d", i) })

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads, partial atomic.Int64
	var partialMsg atomic.Value
	for range 3 {
		readers.Go(func() {
			checked := map[string]bool{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if msg := s.readConsistent(t, name, checked); msg != "" {
					partial.Add(1)
					partialMsg.Store(msg)
				}
				reads.Add(1)
			}
		})
	}

	var wg sync.WaitGroup
	statuses := make([]int, n)
	start := make(chan struct{})
	for i, p := range pubs {
		body := p.body(t)
		wg.Go(func() {
			<-start
			statuses[i] = s.doQuiet(p.path(), token, body)
		})
	}
	close(start)
	wg.Wait()
	close(stop)
	readers.Wait()

	for i, st := range statuses {
		if st != http.StatusCreated {
			t.Errorf("publish %s: status %d", pubs[i].version, st)
		}
	}
	if partial.Load() > 0 {
		t.Errorf("%d reads saw a partial version, e.g. %v", partial.Load(), partialMsg.Load())
	}
	pk := s.packument(t, name)
	if len(pk.Versions) != n+1 {
		t.Errorf("packument has %d versions, want %d", len(pk.Versions), n+1)
	}
	pkg, err := s.store.Package(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, v := range pkg.Versions {
		seen[v.Version]++
	}
	for i, p := range pubs {
		if seen[p.version] != 1 {
			t.Errorf("version %s stored %d times", p.version, seen[p.version])
		}
		if got := pk.DistTags[fmt.Sprintf("t%d", i)]; got != p.version {
			t.Errorf("dist-tag t%d = %q, want %s", i, got, p.version)
		}
	}
	if pk.DistTags["latest"] != "1.0.0" {
		t.Errorf("latest = %q, want 1.0.0 (no publish asked to move it)", pk.DistTags["latest"])
	}
	t.Logf("%d concurrent publishes, %d consistent reads during them", n, reads.Load())
}

// TestConcurrentSameVersion sends 50 publishes of one version at once,
// each with its own tarball: exactly one is accepted, every other gets
// npm's "cannot publish over" answer, and the stored bytes are the
// winner's.
func TestConcurrentSameVersion(t *testing.T) {
	const n = 50
	s := newStack(t, stackOptions{})
	token := addUser(t, s.srv.URL, "alice")
	const name, version = "octo-pkg", "3.0.0"
	pubs := make([]*publish, n)
	for i := range pubs {
		pj := strings.TrimSuffix(packageJSON(name, version), "}") + fmt.Sprintf(`,"build":%d}`, i)
		pubs[i] = newPublish(name, version, goodTarball(t, pj), nil)
	}
	// Half carry provenance for their own tarball.
	for i := 0; i < n; i += 2 {
		pubs[i].bundle = s.provenanceBundle(t, s.job(), name, version, pubs[i].tarball)
	}
	type answer struct {
		status int
		msg    string
	}
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range pubs {
		body := p.body(t)
		wg.Go(func() {
			<-start
			r := s.doRaw(p.path(), token, body)
			answers[i] = answer{r.status, r.errorText()}
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, a := range answers {
		switch {
		case a.status == http.StatusCreated:
			if winner >= 0 {
				t.Errorf("publishes %d and %d of the same version were both accepted", winner, i)
			}
			winner = i
		case (a.status == http.StatusForbidden || a.status == http.StatusConflict) && strings.Contains(a.msg, "cannot publish over"):
		default:
			t.Errorf("publish %d: status %d %q, want a conflict naming the existing version", i, a.status, a.msg)
		}
	}
	if winner < 0 {
		t.Fatal("no publish was accepted")
	}
	pkg, err := s.store.Package(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Versions) != 1 {
		t.Fatalf("%d versions stored", len(pkg.Versions))
	}
	sum := sha512.Sum512(pubs[winner].tarball)
	if got := pkg.Versions[0].SHA512; got != fmt.Sprintf("%x", sum) {
		t.Errorf("stored tarball is not the winner's")
	}
	tb := s.do(t, http.MethodGet, "/"+name+"/-/"+name+"-"+version+".tgz", "", nil)
	if string(tb.body) != string(pubs[winner].tarball) {
		t.Errorf("served tarball differs from the accepted one")
	}
	t.Logf("50 concurrent publishes of %s@%s: publish %d won, 49 refused with %d", name, version, winner, answers[(winner+1)%n].status)
}

// doQuiet sends a request from a goroutine, returning the status or -1.
func (s *stack) doQuiet(path, token string, body []byte) int {
	return s.doRaw(path, token, body).status
}

func (s *stack) doRaw(path, token string, body []byte) response {
	req, err := http.NewRequest(http.MethodPut, s.srv.URL+path, strings.NewReader(string(body)))
	if err != nil {
		return response{status: -1}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

type packument struct {
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Dist npmwire.Dist `json:"dist"`
	} `json:"versions"`
	Time map[string]string `json:"time"`
}

func (s *stack) packument(t *testing.T, name string) packument {
	t.Helper()
	r := s.do(t, http.MethodGet, "/"+name, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("packument %s: %d %s", name, r.status, r.body)
	}
	var p packument
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// readConsistent reads the packument once (as npm install does) and checks
// every version it lists: a dist with integrity and tarball, a publish
// time, and, once per version, a tarball whose sha512 is the integrity.
// It returns a description of the first inconsistency, or "".
func (s *stack) readConsistent(t *testing.T, name string, checked map[string]bool) string {
	resp, err := http.Get(s.srv.URL + "/" + name)
	if err != nil {
		return "packument: " + err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("packument: status %d", resp.StatusCode)
	}
	var p packument
	if err := json.Unmarshal(b, &p); err != nil {
		return "packument: " + err.Error()
	}
	for tag, v := range p.DistTags {
		if _, ok := p.Versions[v]; !ok {
			return fmt.Sprintf("dist-tag %s points at %s, which the packument lacks", tag, v)
		}
	}
	for v, m := range p.Versions {
		if m.Dist.Integrity == "" || m.Dist.Tarball == "" || len(m.Dist.Signatures) == 0 {
			return fmt.Sprintf("version %s without a complete dist: %+v", v, m.Dist)
		}
		if p.Time[v] == "" {
			return fmt.Sprintf("version %s without a publish time", v)
		}
		if checked[v] {
			continue
		}
		checked[v] = true
		tr, err := http.Get(s.srv.URL + "/" + name + "/-/" + name + "-" + v + ".tgz")
		if err != nil {
			return "tarball: " + err.Error()
		}
		tgz, _ := io.ReadAll(tr.Body)
		tr.Body.Close()
		sum := sha512.Sum512(tgz)
		if tr.StatusCode != http.StatusOK || "sha512-"+base64.StdEncoding.EncodeToString(sum[:]) != m.Dist.Integrity {
			return fmt.Sprintf("version %s listed but its tarball answers %d with another digest", v, tr.StatusCode)
		}
	}
	return ""
}
