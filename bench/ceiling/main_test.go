package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"full", "abbreviated", "tarballs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHandler(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"full/bench-pkg.json":          `{"full":1}`,
		"abbreviated/bench-pkg.json":   `{"abbr":1}`,
		"full/@sc%2Fpkg.json":          `{"scoped":1}`,
		"tarballs/bench-pkg-1.0.0.tgz": "tgz",
		"tarballs/ignored.txt":         "x",
		"abbreviated/notjson.txt":      "x",
	})
	h, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, accept string
		status             int
		want, ctype        string
	}{
		{"full", "/bench-pkg", "", 200, `{"full":1}`, "application/json"},
		{"full with json accept", "/bench-pkg", "application/json", 200, `{"full":1}`, "application/json"},
		{"abbreviated", "/bench-pkg", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", 200, `{"abbr":1}`, abbreviatedMediaType},
		{"scoped", "/@sc%2fpkg", "", 200, `{"scoped":1}`, "application/json"},
		{"tarball", "/bench-pkg/-/bench-pkg-1.0.0.tgz", abbreviatedMediaType, 200, "tgz", "application/octet-stream"},
		{"unknown package", "/nope", "", 404, "404 page not found\n", "text/plain; charset=utf-8"},
		{"unknown tarball", "/bench-pkg/-/bench-pkg-9.9.9.tgz", "", 404, "404 page not found\n", "text/plain; charset=utf-8"},
		{"abbreviated of a package with only full", "/@sc%2fpkg", abbreviatedMediaType, 404, "404 page not found\n", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.status || string(body) != tt.want || rec.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("GET %s = %d %q (%s), want %d %q (%s)", tt.path, rec.Code, body, rec.Header().Get("Content-Type"), tt.status, tt.want, tt.ctype)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := load(t.TempDir()); err == nil {
		t.Error("load of an empty directory succeeded")
	}
	if _, err := load(writeTree(t, map[string]string{"tarballs/a.tgz": "x"})); err == nil {
		t.Error("load of a tree without packuments succeeded")
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	dir := writeTree(t, map[string]string{"full/a.json": "{}"})
	for _, addr := range []string{"0.0.0.0:0", "localhost:0", "192.0.2.1:0"} {
		if err := run([]string{"-addr", addr, "-dir", dir}); err == nil {
			t.Errorf("ceiling listened on %s", addr)
		}
	}
}
