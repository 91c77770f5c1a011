package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

// benchClient is an HTTP client that keeps enough idle connections for
// parallel benchmark clients.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}}

func benchGET(b *testing.B, url string, hdr ...string) {
	b.Helper()
	b.ReportAllocs()
	b.SetParallelism(4) // 4 clients per core
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := benchClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// benchRegistry publishes a package with 20 versions.
func benchRegistry(b *testing.B) *testRegistry {
	r := newTestRegistry(b)
	tok := r.addUser(b, "alice")
	for i := range 20 {
		r.publish(b, tok, "bench-pkg", fmt.Sprintf("1.%d.0", i), "latest", nil, http.StatusCreated)
	}
	return r
}

// BenchmarkPackumentGET measures GET /{name} (abbreviated, as npm install
// asks) from parallel clients over HTTP; compare with
// BenchmarkBareHandlerGET, which serves the same bytes from memory with a
// bare net/http handler.
func BenchmarkPackumentGET(b *testing.B) {
	r := benchRegistry(b)
	benchGET(b, r.URL+"/bench-pkg", "Accept", npmwire.MediaTypeAbbreviated)
}

// BenchmarkPackumentGETFull is BenchmarkPackumentGET for the full packument.
func BenchmarkPackumentGETFull(b *testing.B) {
	r := benchRegistry(b)
	benchGET(b, r.URL+"/bench-pkg")
}

// BenchmarkBareHandlerGET is the peer: a bare net/http handler writing the
// registry's abbreviated packument from memory.
func BenchmarkBareHandlerGET(b *testing.B) {
	r := benchRegistry(b)
	_, body, _ := r.do(b, http.MethodGet, "/bench-pkg", "", nil, "Accept", npmwire.MediaTypeAbbreviated)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", npmwire.MediaTypeAbbreviated)
		w.Write(body)
	}))
	defer bare.Close()
	benchGET(b, bare.URL+"/bench-pkg")
}

// BenchmarkTarballGET measures GET /{name}/-/{file}.tgz from parallel clients.
func BenchmarkTarballGET(b *testing.B) {
	r := benchRegistry(b)
	benchGET(b, r.URL+"/bench-pkg/-/bench-pkg-1.5.0.tgz")
}

// BenchmarkPublish measures in-process publishes without provenance
// (request-shape checks, signing, one store transaction).
func BenchmarkPublish(b *testing.B) {
	r := newTestRegistry(b)
	tok := r.addUser(b, "alice")
	h := r.srv.Handler()
	bodies := make([][]byte, b.N)
	for i := range b.N {
		v := fmt.Sprintf("1.0.%d", i)
		bodies[i] = publishBody(b, "pub-pkg", v, "latest", makeTarball(b, map[string]string{"package/package.json": pkgJSON("pub-pkg", v), "package/index.js": "1"}), nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPut, "/pub-pkg", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("publish: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}

// BenchmarkVerifiedPublish measures in-process publishes with a provenance
// bundle checked by the real verifier (private in-memory Sigstore).
func BenchmarkVerifiedPublish(b *testing.B) {
	sig := verifytest.New(b)
	job := verifytest.Job{}
	srv, err := New(context.Background(), Config{DataDir: b.TempDir(), SweepInterval: -1, Verification: verify.Config{
		TrustedRoots:  []verify.RootConfig{{Name: verify.RootPrivate, JSON: sig.TrustedRootJSON()}},
		CommitChecker: commit.CheckerFunc(func(context.Context, string, string) error { return nil }),
	}})
	if err != nil {
		b.Fatal(err)
	}
	r := &testRegistry{Server: newHTTPTest(b, srv), srv: srv}
	tok := r.addUser(b, "alice")
	repo := `"repository":"git+` + job.RepositoryURL() + `.git"`
	bodies := make([][]byte, b.N)
	for i := range b.N {
		v := fmt.Sprintf("1.0.%d", i)
		tgz := makeTarball(b, map[string]string{"package/package.json": pkgJSON("vpub", v, repo), "package/index.js": "1"})
		bodies[i] = publishBody(b, "vpub", v, "latest", tgz, sig.Sign(b, job, "vpub", v, tgz, verifytest.Options{}))
	}
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPut, "/vpub", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("publish: %d %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}

// BenchmarkPackumentHandler measures the registry's handler in-process
// (no network, no client), against BenchmarkBareHandler on the same bytes.
func BenchmarkPackumentHandler(b *testing.B) {
	r := benchRegistry(b)
	h := r.srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/bench-pkg", nil)
			req.Header.Set("Accept", npmwire.MediaTypeAbbreviated)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkBareHandler is the in-process peer of BenchmarkPackumentHandler.
func BenchmarkBareHandler(b *testing.B) {
	r := benchRegistry(b)
	_, body, _ := r.do(b, http.MethodGet, "/bench-pkg", "", nil, "Accept", npmwire.MediaTypeAbbreviated)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", npmwire.MediaTypeAbbreviated)
		w.Write(body)
	})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/bench-pkg", nil)
			req.Header.Set("Accept", npmwire.MediaTypeAbbreviated)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkLargeTarballGET measures GET of a tarball above
// maxCachedTarballBytes, which is streamed from the blob store.
func BenchmarkLargeTarballGET(b *testing.B) {
	r := newTestRegistry(b)
	tok := r.addUser(b, "alice")
	noise := make([]byte, 2*maxCachedTarballBytes)
	rng := rand.New(rand.NewPCG(1, 2)) // deterministic, incompressible filler
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	tgz := makeTarball(b, map[string]string{"package/package.json": pkgJSON("big-pkg", "1.0.0"), "package/blob.bin": string(noise)})
	if len(tgz) <= maxCachedTarballBytes {
		b.Fatalf("tarball of %d bytes would be cached", len(tgz))
	}
	code, resp, _ := r.do(b, http.MethodPut, "/big-pkg", tok, publishBody(b, "big-pkg", "1.0.0", "latest", tgz, nil))
	if code != http.StatusCreated {
		b.Fatalf("publish: %d %s", code, resp)
	}
	b.SetBytes(int64(len(tgz)))
	benchGET(b, r.URL+"/big-pkg/-/big-pkg-1.0.0.tgz")
}
