package hardening

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry"
	"github.com/provenant/provenant/registry/verify"
)

// acceptAll is an in-process verifier for the fuzz targets, which exercise
// the registry's own parsers (body, names, versions, tarball) before
// verification: it accepts a version without a bundle.
type acceptAll struct{}

func (acceptAll) Verify(ctx context.Context, in verify.Input) (*verify.Result, error) {
	if in.Bundle != nil {
		return nil, &provenance.CheckError{Check: "fuzz", Err: context.Canceled}
	}
	return &verify.Result{VerifiedAt: time.Now().UTC(), Checks: []verify.CheckRecord{}}, nil
}

// fuzzRegistry is a registry (SQLite store in a temp dir) with one user,
// shared by the iterations of one fuzz target.
type fuzzRegistry struct {
	srv   *registry.Server
	token string
}

func newFuzzRegistry(f *testing.F) *fuzzRegistry {
	f.Helper()
	srv, err := registry.New(context.Background(), registry.Config{DataDir: f.TempDir(), SweepInterval: -1, RateLimits: registry.RateLimits{LoginPerMinute: -1, PublishPerMinute: -1}}, registry.WithVerifier(acceptAll{}))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	body, _ := json.Marshal(npmwire.AddUserRequest{Name: "fuzz", Password: password})
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/-/user/org.couchdb.user:fuzz", strings.NewReader(string(body))))
	var out npmwire.AddUserResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Token == "" {
		f.Fatalf("adduser: %d %s", rec.Code, rec.Body)
	}
	return &fuzzRegistry{srv: srv, token: out.Token}
}

// serve sends one request in process; nil when path is not a valid URL path.
func (r *fuzzRegistry) serve(method, path string, body []byte) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, "http://registry.test"+path, strings.NewReader(string(body)))
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails on a server error or an error answer without npm's
// {"error": ...} body.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec == nil {
		return
	}
	if rec.Code >= 500 {
		t.Fatalf("server error %d: %s", rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e npmwire.ErrorBody
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Fatalf("status %d without an error body: %s", rec.Code, rec.Body)
		}
	}
}

// FuzzRegistryTarball publishes arbitrary tarball bytes (the registry's
// gzip and tar reader, limits and path checks): never a server error,
// and a tarball is only accepted when its package.json names the version.
func FuzzRegistryTarball(f *testing.F) {
	r := newFuzzRegistry(f)
	f.Add(goodTarball(f, packageJSON("fuzz-tar", "1.0.0")))
	f.Add(gz(f, makeTar(f, []tarEntry{{name: "package/package.json", body: packageJSON("fuzz-tar", "1.0.0")}, {name: "package/../x", body: "x"}})))
	f.Add(gz(f, makeTar(f, []tarEntry{{name: "package/package.json", body: packageJSON("fuzz-tar", "1.0.0")}, {name: "package/l", typeflag: '2', link: "../../x"}})))
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"))
	var n int
	f.Fuzz(func(t *testing.T, tgz []byte) {
		n++
		p := newPublish("fuzz-tar", "1.0.0", tgz, nil)
		rec := r.serve(http.MethodPut, p.path(), p.body(t))
		checkAnswer(t, rec)
		if rec.Code == http.StatusCreated {
			// Accepted once; unpublish is not possible here, so the
			// next identical input gets the version conflict.
			if !strings.Contains(rec.Body.String(), `"ok":true`) {
				t.Fatalf("201 without ok: %s", rec.Body)
			}
		}
	})
}

// FuzzRegistryName sends arbitrary package names through the package
// routes: never a server error, and a name the registry lets a publish
// create is one npm accepts (lowercase, URL-safe, at most 214 bytes).
func FuzzRegistryName(f *testing.F) {
	r := newFuzzRegistry(f)
	for _, s := range []string{"left-pad", "@scope/pkg", "@scope%2fpkg", "Upper", "a b", "..", "_x", "%2e%2e", "@/x", "@s/", strings.Repeat("a", 215), "node_modules", "x%00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		checkAnswer(t, r.serve(http.MethodGet, "/"+name, nil))
		checkAnswer(t, r.serve(http.MethodGet, "/-/npm/v1/attestations/"+name, nil))
		checkAnswer(t, r.serve(http.MethodGet, "/-/package/"+name+"/dist-tags", nil))
		if name == "zz-other" {
			return
		}
		p := newPublish(name, "1.0.0", goodTarball(t, packageJSON("zz-other", "1.0.0")), nil)
		rec := r.serve(http.MethodPut, "/"+npmwire.EscapeName(name), p.body(t))
		checkAnswer(t, rec)
		if rec == nil {
			return
		}
		if rec.Code == http.StatusCreated {
			t.Fatalf("publish of %q accepted with a tarball naming another package", name)
		}
		if strings.Contains(rec.Body.String(), "tarball package.json") && !npmURLSafeName(name) {
			t.Fatalf("name %q passed the registry's name check", name)
		}
	})
}

// npmURLSafeName reports whether name keeps the rules the registry's name
// check promises: at most 214 bytes, lowercase, URL-safe characters, no
// leading "." or "_", and "@scope/name" for a scope.
func npmURLSafeName(name string) bool {
	if len(name) == 0 || len(name) > 214 {
		return false
	}
	parts := []string{name}
	if strings.HasPrefix(name, "@") {
		scope, pkg, ok := strings.Cut(name[1:], "/")
		if !ok {
			return false
		}
		parts = []string{scope, pkg}
	}
	for _, p := range parts {
		if p == "" || p[0] == '.' || p[0] == '_' {
			return false
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~!*'()", r)) {
				return false
			}
		}
	}
	return true
}

// FuzzRegistryVersion publishes arbitrary version strings: never a server
// error, and an accepted version is strict semver.
func FuzzRegistryVersion(f *testing.F) {
	r := newFuzzRegistry(f)
	for _, s := range []string{"1.0.0", "1.0", "v1.0.0", "1.0.0-beta.1", "1.0.0+build", "01.0.0", "1.0.0-", "99999999999999999999.0.0", "latest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, version string) {
		tgz := goodTarball(t, packageJSON("fuzz-ver", version))
		p := newPublish("fuzz-ver", version, tgz, nil)
		p.tag = "fuzz"
		rec := r.serve(http.MethodPut, p.path(), p.body(t))
		checkAnswer(t, rec)
		if rec != nil && rec.Code == http.StatusCreated {
			if _, err := semver.StrictNewVersion(version); err != nil {
				t.Fatalf("version %q accepted: %v", version, err)
			}
		}
	})
}

// FuzzRegistryPublishBody sends arbitrary publish bodies for one package:
// never a server error, always npm's error body.
func FuzzRegistryPublishBody(f *testing.F) {
	r := newFuzzRegistry(f)
	good := newPublish("fuzz-body", "1.0.0", goodTarball(f, packageJSON("fuzz-body", "1.0.0")), nil)
	f.Add(good.body(f))
	f.Add([]byte(`{"name":"fuzz-body","versions":{},"_attachments":{"a.tgz":{"data":"!"}}}`))
	f.Add([]byte(`{"name":"fuzz-body","versions":{"1.0.0":null},"_attachments":{"x":{}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAnswer(t, r.serve(http.MethodPut, "/fuzz-body", body))
	})
}

// FuzzRegistryLogin sends arbitrary npm adduser/login bodies: never a
// server error, and never a token for a wrong password.
func FuzzRegistryLogin(f *testing.F) {
	r := newFuzzRegistry(f)
	f.Add("fuzz", []byte(`{"name":"fuzz","password":"wrong password"}`))
	f.Add("fuzz", []byte(`{"name":"fuzz","password":`+"\""+password+"\""+`}`))
	f.Add("new-user", []byte(`{"name":"new-user","password":"short"}`))
	f.Add("x", []byte(`{"name":"x","password":"aaaaaaaaaaaa","email":1}`))
	f.Fuzz(func(t *testing.T, user string, body []byte) {
		rec := r.serve(http.MethodPut, "/-/user/org.couchdb.user:"+user, body)
		checkAnswer(t, rec)
		if rec == nil || rec.Code != http.StatusCreated || user != "fuzz" {
			return
		}
		var req npmwire.AddUserRequest
		if json.Unmarshal(body, &req) != nil || req.Password != password {
			t.Fatalf("login of %q with body %q issued a token", user, body)
		}
	})
}
