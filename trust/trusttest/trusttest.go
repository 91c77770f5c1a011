// Package trusttest starts the embedded trust services for tests.
package trusttest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provenant/provenant/trust"
	"github.com/provenant/provenant/trust/oidc"
)

// An Env is a running set of trust services on an httptest server.
type Env struct {
	// BaseURL is the OIDC issuer, Fulcio and Rekor URL (http://127.0.0.1:PORT).
	BaseURL string
	// Services are the running services.
	Services *trust.Services
	// TrustedRoot is the exported trusted root, parsed by sigstore-go.
	TrustedRoot *root.TrustedRoot
	// DataDir is the services' data directory.
	DataDir string
	// Server is the test HTTP server.
	Server *httptest.Server
}

// Start starts the services on 127.0.0.1 with a fresh t.TempDir and stops
// them when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartIn(t, t.TempDir())
}

// StartIn is Start with a given data directory, for restart tests.
func StartIn(t testing.TB, dataDir string) *Env {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hp := h.Load(); hp != nil {
			(*hp).ServeHTTP(w, r)
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	s, err := trust.Open(context.Background(), trust.Config{DataDir: dataDir, BaseURL: srv.URL})
	if err != nil {
		srv.Close()
		t.Fatalf("trust.Open: %v", err)
	}
	handler := s.Handler()
	h.Store(&handler)
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRootJSON())
	if err != nil {
		srv.Close()
		s.Close()
		t.Fatalf("trusted root: %v", err)
	}
	env := &Env{BaseURL: srv.URL, Services: s, TrustedRoot: tr, DataDir: dataDir, Server: srv}
	t.Cleanup(env.Stop)
	return env
}

// Stop closes the server and the services; it is safe to call twice.
func (e *Env) Stop() {
	if e.Server == nil {
		return
	}
	e.Server.Close()
	e.Server = nil
	_ = e.Services.Close()
}

// JobEnv returns the environment of a simulated job, failing the test on error.
func (e *Env) JobEnv(t testing.TB, spec oidc.JobSpec) map[string]string {
	t.Helper()
	env, err := e.Services.JobEnv(spec)
	if err != nil {
		t.Fatalf("JobEnv: %v", err)
	}
	return env
}

// IDToken mints an ID token with audience "sigstore" for a job.
func (e *Env) IDToken(t testing.TB, spec oidc.JobSpec) string {
	t.Helper()
	tok, err := e.Services.Issuer().Mint(spec, "sigstore")
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}
