package registry

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/provenant/provenant/npmwire"
)

func TestPackumentServing(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	r.publish(t, tok, "@s/p", "1.0.0", "latest", nil, http.StatusCreated)

	// Both scoped spellings, full and abbreviated.
	_, full1, h1 := r.do(t, http.MethodGet, "/@s%2fp", "", nil)
	_, full2, _ := r.do(t, http.MethodGet, "/@s/p", "", nil)
	if string(full1) != string(full2) || h1.Get("Content-Type") != "application/json" {
		t.Fatalf("scoped spellings differ or bad type %q", h1.Get("Content-Type"))
	}
	var full npmwire.Packument
	if err := json.Unmarshal(full1, &full); err != nil {
		t.Fatal(err)
	}
	if full.Name != "@s/p" || full.Time["1.0.0"] == "" || full.Time["created"] == "" || full.Rev == "" || len(full.Maintainers) != 1 {
		t.Errorf("full packument = %s", full1)
	}
	code, ab, h := r.do(t, http.MethodGet, "/@s%2fp", "", nil, "Accept", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*")
	if code != http.StatusOK || h.Get("Content-Type") != npmwire.MediaTypeAbbreviated {
		t.Fatalf("abbreviated: %d %q", code, h.Get("Content-Type"))
	}
	var abbrev struct {
		Modified string
		Versions map[string]map[string]json.RawMessage
	}
	json.Unmarshal(ab, &abbrev)
	v := abbrev.Versions["1.0.0"]
	if abbrev.Modified == "" || v["dist"] == nil || v["description"] != nil || v["_id"] != nil {
		t.Errorf("abbreviated packument = %s", ab)
	}
	var dist npmwire.Dist
	json.Unmarshal(v["dist"], &dist)
	if dist.Tarball != r.URL+"/@s/p/-/p-1.0.0.tgz" || dist.FileCount != 2 || dist.UnpackedSize == 0 {
		t.Errorf("dist = %+v", dist)
	}

	// ETag and If-None-Match, invalidated by a write.
	etag := h.Get("ETag")
	if code, _, _ := r.do(t, http.MethodGet, "/@s%2fp", "", nil, "Accept", npmwire.MediaTypeAbbreviated, "If-None-Match", etag); code != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", code)
	}
	if code, resp, _ := r.do(t, http.MethodPut, "/-/package/@s%2fp/dist-tags/beta", tok, []byte(`"1.0.0"`)); code != http.StatusCreated {
		t.Fatalf("dist-tag: %d %s", code, resp)
	}
	code, ab2, h2 := r.do(t, http.MethodGet, "/@s%2fp", "", nil, "Accept", npmwire.MediaTypeAbbreviated, "If-None-Match", etag)
	if code != http.StatusOK || h2.Get("ETag") == etag || !strings.Contains(string(ab2), `"beta":"1.0.0"`) {
		t.Errorf("after a write: %d etag %q %s", code, h2.Get("ETag"), ab2)
	}

	// Version by number and by tag, tarball, HEAD, 404s.
	for _, path := range []string{"/@s/p/1.0.0", "/@s%2fp/beta", "/@s/p/latest"} {
		if code, body, _ := r.do(t, http.MethodGet, path, "", nil); code != http.StatusOK || !strings.Contains(string(body), `"version":"1.0.0"`) {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	code, tgz, th := r.do(t, http.MethodGet, "/@s/p/-/p-1.0.0.tgz", "", nil)
	if code != http.StatusOK || th.Get("Content-Type") != "application/octet-stream" || len(tgz) == 0 {
		t.Errorf("tarball: %d %q", code, th.Get("Content-Type"))
	}
	if _, err := inspectTarball(tgz); err != nil {
		t.Errorf("served tarball: %v", err)
	}
	for _, path := range []string{"/@s/p/2.0.0", "/@s/p/-/p-2.0.0.tgz", "/nope", "/@s/nope/-/x.tgz", "/-/package/nope/dist-tags"} {
		if code, body, _ := r.do(t, http.MethodGet, path, "", nil); code != http.StatusNotFound {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	if code, body, _ := r.do(t, http.MethodGet, "/-/package/@s%2fp/visibility", "", nil); code != http.StatusOK || string(body) != `{"public":true}`+"\n" {
		t.Errorf("visibility = %d %q", code, body)
	}
	if code, _, _ := r.do(t, http.MethodHead, "/@s/p", "", nil); code != http.StatusOK {
		t.Errorf("HEAD = %d", code)
	}
}

// TestSigningKeyPersists checks that a restarted registry keeps its key.
func TestSigningKeyPersists(t *testing.T) {
	dir := t.TempDir()
	a, err := loadOrCreateSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadOrCreateSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.keyID != b.keyID || a.spki != b.spki {
		t.Fatalf("key changed across restarts: %s %s", a.keyID, b.keyID)
	}
}

func TestPagesDelegation(t *testing.T) {
	p := &recordingPages{}
	r := newTestRegistry(t, WithPages(p))
	tok := r.addUser(t, "alice")
	r.publish(t, tok, "pkg", "1.0.0", "latest", nil, http.StatusCreated)
	html := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for path, want := range map[string]string{"/pkg": "package pkg", "/pkg/1.0.0": "version pkg 1.0.0", "/pkg/latest": "version pkg 1.0.0", "/": "home"} {
		if code, body, _ := r.do(t, http.MethodGet, path, "", nil, "Accept", html); code != http.StatusOK || string(body) != want {
			t.Errorf("GET %s (browser) = %d %q, want %q", path, code, body, want)
		}
	}
	if code, body, _ := r.do(t, http.MethodGet, "/pkg", "", nil); code != http.StatusOK || !strings.HasPrefix(string(body), `{"_id"`) {
		t.Errorf("GET /pkg (npm) = %d %.40s", code, body)
	}
}
