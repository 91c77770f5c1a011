package main

import (
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"full.json": `{"full":1}`, "abbreviated.json": `{"abbr":1}`, "package.tgz": "tgz"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, accept, want, ctype string
	}{
		{"full", "/bench-pkg", "", `{"full":1}`, "application/json"},
		{"full with json accept", "/bench-pkg", "application/json", `{"full":1}`, "application/json"},
		{"abbreviated", "/bench-pkg", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", `{"abbr":1}`, abbreviatedMediaType},
		{"tarball", "/bench-pkg/-/bench-pkg-1.0.0.tgz", abbreviatedMediaType, "tgz", "application/octet-stream"},
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
			if string(body) != tt.want || rec.Header().Get("Content-Type") != tt.ctype {
				t.Fatalf("GET %s = %q (%s), want %q (%s)", tt.path, body, rec.Header().Get("Content-Type"), tt.want, tt.ctype)
			}
		})
	}
	if _, err := load(t.TempDir()); err == nil {
		t.Fatal("load of an empty directory succeeded")
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"full.json", "abbreviated.json", "package.tgz"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	if err := run([]string{"-addr", "0.0.0.0:0", "-dir", dir}); err == nil {
		t.Fatal("ceiling listened on a non-loopback address")
	}
}
