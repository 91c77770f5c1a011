package registry

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
)

// mutateBody decodes a publish body, lets f edit it, and re-encodes it.
func mutateBody(t *testing.T, body []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ := json.Marshal(m)
	return b
}

func version0(m map[string]any) map[string]any {
	for _, v := range m["versions"].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}

func TestPublishRejections(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	good := makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.0")})
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
	tests := []struct {
		name   string
		path   string
		body   []byte
		status int
		want   string
	}{
		{"integrity mismatch", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			version0(m)["dist"].(map[string]any)["integrity"] = "sha512-" + strings.Repeat("A", 86) + "=="
		}), 422, "dist.integrity"},
		{"shasum mismatch", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			version0(m)["dist"].(map[string]any)["shasum"] = strings.Repeat("0", 40)
		}), 422, "dist.shasum"},
		{"tarball names another package", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("other", "1.0.0")}), nil), 422, "tarball package.json: expected pkg@1.0.0, got other@1.0.0"},
		{"tarball names another version", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.1")}), nil), 422, "got pkg@1.0.1"},
		{"no package.json", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/index.js": "x"}), nil), 422, "no package/package.json"},
		{"dot-dot path", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.0"), "package/../../etc/passwd": "x"}), nil), 422, "leaves the package"},
		{"absolute path", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.0"), "/etc/passwd": "x"}), nil), 422, "absolute entry path"},
		{"symlink out", "/pkg", publishBody(t, "pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.0"), "package/link": "symlink:../../etc/passwd"}), nil), 422, "points outside the package"},
		{"not gzip", "/pkg", publishBody(t, "pkg", "1.0.0", "latest", []byte("plain"), nil), 422, "not gzip"},
		{"second tarball", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			atts := m["_attachments"].(map[string]any)
			atts["pkg-1.0.1.tgz"] = atts["pkg-1.0.0.tgz"]
		}), 422, "unexpected attachment"},
		{"second bundle", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, bundle), func(m map[string]any) {
			atts := m["_attachments"].(map[string]any)
			atts["x-1.0.0.sigstore"] = atts["pkg-1.0.0.sigstore"]
		}), 422, "/_attachments"},
		{"length lies", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			m["_attachments"].(map[string]any)["pkg-1.0.0.tgz"].(map[string]any)["length"] = 3
		}), 422, "length"},
		{"bad version", "/pkg", publishBody(t, "pkg", "1.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0")}), nil), 422, "'1.0' does not match"},
		{"URL names another package", "/other", publishBody(t, "pkg", "1.0.0", "latest", good, nil), 422, "differs from the URL"},
		{"uppercase name", "/Pkg", publishBody(t, "Pkg", "1.0.0", "latest",
			makeTarball(t, map[string]string{"package/package.json": pkgJSON("Pkg", "1.0.0")}), nil), 400, "must be lowercase"},
		{"restricted access", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			m["access"] = "restricted"
		}), 422, "serves every package publicly"},
		{"schema: bad access", "/pkg", mutateBody(t, publishBody(t, "pkg", "1.0.0", "latest", good, nil), func(m map[string]any) {
			m["access"] = "secret"
		}), 422, "/access"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := r.fv.calls
			code, resp, _ := r.do(t, http.MethodPut, tt.path, tok, tt.body)
			if code != tt.status || !strings.Contains(string(resp), tt.want) {
				t.Fatalf("status %d %s, want %d containing %q", code, resp, tt.status, tt.want)
			}
			var e npmwire.ErrorBody
			if err := json.Unmarshal(resp, &e); err != nil || e.Error == "" {
				t.Errorf("body is not npm's error shape: %s", resp)
			}
			if r.fv.calls != calls {
				t.Errorf("verifier ran after a failed request-shape check")
			}
			if code, _, _ := r.do(t, http.MethodGet, "/pkg", "", nil); code != http.StatusNotFound {
				t.Errorf("something was stored: GET /pkg = %d", code)
			}
		})
	}
}

func TestPublishAuth(t *testing.T) {
	r := newTestRegistry(t)
	body := publishBody(t, "pkg", "1.0.0", "latest", makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", "1.0.0")}), nil)
	if code, _, h := r.do(t, http.MethodPut, "/pkg", "", body); code != http.StatusUnauthorized {
		t.Errorf("anonymous publish = %d", code)
	} else if !strings.Contains(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
	}
	if code, _, _ := r.do(t, http.MethodPut, "/pkg", "npm_prov_bogus", body); code != http.StatusUnauthorized {
		t.Errorf("bad token publish = %d", code)
	}
	alice, bob := r.addUser(t, "alice"), r.addUser(t, "bob")
	r.publish(t, alice, "pkg", "1.0.0", "latest", nil, http.StatusCreated)
	r.publish(t, bob, "pkg", "1.1.0", "latest", nil, http.StatusForbidden)
	r.publish(t, alice, "pkg", "1.0.0", "latest", nil, http.StatusForbidden)
	code, resp, _ := r.do(t, http.MethodPut, "/-/package/pkg/dist-tags/x", bob, []byte(`"1.0.0"`))
	if code != http.StatusForbidden {
		t.Errorf("non-owner dist-tag = %d %s", code, resp)
	}
}

func TestProvenanceCheckFailure(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	r.fv.fail = &provenance.CheckError{Check: "repository-url", Expected: "https://github.com/o/r", Actual: ""}
	resp := r.publish(t, tok, "pkg", "1.0.0", "latest", []byte(`{"mediaType":"x"}`), http.StatusUnprocessableEntity)
	var e npmwire.ErrorBody
	json.Unmarshal(resp, &e)
	want := `Error verifying sigstore provenance bundle: repository-url check failed: expected "https://github.com/o/r", got ""`
	if e.Error != want {
		t.Errorf("error = %q, want %q", e.Error, want)
	}
	if code, _, _ := r.do(t, http.MethodGet, "/pkg", "", nil); code != http.StatusNotFound {
		t.Errorf("rejected version was stored: %d", code)
	}
}

func TestLatestNeverMovesSilently(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	r.publish(t, tok, "pkg", "1.0.0", "latest", nil, http.StatusCreated)
	r.publish(t, tok, "pkg", "0.9.0", "latest", nil, http.StatusConflict)
	r.publish(t, tok, "pkg", "2.0.0-rc.1", "latest", nil, http.StatusConflict)
	r.publish(t, tok, "pkg", "2.0.0-rc.1", "next", nil, http.StatusCreated)
	r.publish(t, tok, "pkg", "0.9.0", "legacy", nil, http.StatusCreated)
	r.publish(t, tok, "pkg", "1.10.0", "latest", nil, http.StatusCreated)
	r.publish(t, tok, "pkg", "1.9.0", "older", nil, http.StatusCreated)
	var p npmwire.Packument
	_, body, _ := r.do(t, http.MethodGet, "/pkg", "", nil)
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.DistTags["latest"] != "1.10.0" || p.DistTags["next"] != "2.0.0-rc.1" {
		t.Errorf("dist-tags = %v", p.DistTags)
	}
	// Versions appear in semver order in the serialized packument.
	order := []string{`"0.9.0":{`, `"1.0.0":{`, `"1.9.0":{`, `"1.10.0":{`, `"2.0.0-rc.1":{`}
	last := -1
	for _, o := range order {
		i := bytes.Index(body, []byte(o))
		if i <= last {
			t.Fatalf("version %s out of semver order in %s", o, body)
		}
		last = i
	}
}

func TestPublishBodyLimit(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	big := bytes.Repeat([]byte(" "), limits.MaxPublishBodyBytes+1)
	if code, resp, _ := r.do(t, http.MethodPut, "/pkg", tok, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit = %d %s", code, resp)
	}
}
