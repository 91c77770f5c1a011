package web

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/provenant/provenant/registry/verify"
)

func TestBadge(t *testing.T) {
	base := seed(t)
	tests := []struct {
		path    string
		status  int
		message string
		maxAge  string
	}{
		{"/badge/@octo-org/octo-pkg.svg", 200, "verified", "max-age=300"},
		{"/badge/%40octo-org%2Focto-pkg.svg", 200, "verified", "max-age=300"},
		{"/badge/@octo-org/octo-pkg/v/1.0.0.svg", 200, "verified", "max-age=86400"},
		{"/badge/@octo-org/octo-pkg/v/1.1.0-beta.1.svg", 200, "unverified commit", "max-age=86400"},
		{"/badge/plain.svg", 200, "none", "max-age=300"},
		{"/badge/plain/v/2.0.0.svg", 200, "none", "max-age=86400"},
		{"/badge/nope.svg", 404, "not found", "max-age=300"},
		{"/badge/plain/v/9.9.9.svg", 404, "not found", "max-age=300"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, hdr, body := get(t, base+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := hdr.Get("Cache-Control"); !strings.Contains(cc, tt.maxAge) {
				t.Errorf("Cache-Control %q, want %s", cc, tt.maxAge)
			}
			var svg struct {
				XMLName xml.Name
				Title   string `xml:"title"`
			}
			if err := xml.Unmarshal([]byte(body), &svg); err != nil || svg.XMLName.Local != "svg" {
				t.Fatalf("not an SVG document (%v): %s", err, body)
			}
			if svg.Title != "provenance: "+tt.message {
				t.Errorf("title %q, want %q", svg.Title, "provenance: "+tt.message)
			}
		})
	}
	t.Run("etag", func(t *testing.T) {
		_, hdr, _ := get(t, base+"/badge/plain.svg")
		status, _, _ := get(t, base+"/badge/plain.svg", "If-None-Match", hdr.Get("ETag"))
		if status != http.StatusNotModified {
			t.Errorf("status %d, want 304", status)
		}
	})
}

func TestBadgeState(t *testing.T) {
	tests := []struct {
		r    *verify.Result
		want badgeState
	}{
		{nil, badgeNone},
		{&verify.Result{}, badgeNone},
		{githubResult(verify.StatusVerified), badgeVerified},
		{githubResult(verify.StatusOff), badgeVerified},
		{githubResult(verify.StatusUnverified), badgeUnverified},
	}
	for _, tt := range tests {
		if got := stateOf(tt.r); got != tt.want {
			t.Errorf("stateOf = %v, want %v", got, tt.want)
		}
	}
}

func TestParseBadgePath(t *testing.T) {
	tests := []struct {
		in, name, version string
		ok                bool
	}{
		{"pkg.svg", "pkg", "", true},
		{"@s/pkg.svg", "@s/pkg", "", true},
		{"%40s%2Fpkg.svg", "@s/pkg", "", true},
		{"pkg/v/1.0.0.svg", "pkg", "1.0.0", true},
		{"@s/pkg/v/1.0.0-rc.1.svg", "@s/pkg", "1.0.0-rc.1", true},
		{"pkg", "", "", false},
		{".svg", "", "", false},
		{"@s.svg", "", "", false},
		{"pkg/x/1.0.0.svg", "", "", false},
		{"pkg/v/.svg", "", "", false},
		{"a/b/c.svg", "", "", false},
		{"../x.svg", "", "", false},
		{"%zz.svg", "", "", false},
	}
	for _, tt := range tests {
		name, version, err := parseBadgePath(tt.in)
		if (err == nil) != tt.ok || name != tt.name || version != tt.version {
			t.Errorf("parseBadgePath(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, name, version, err, tt.name, tt.version, tt.ok)
		}
	}
}

func FuzzParseBadgePath(f *testing.F) {
	for _, s := range []string{"pkg.svg", "@s/pkg/v/1.0.0.svg", "%40s%2Fpkg.svg", "a/v/b/c.svg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, version, err := parseBadgePath(s)
		if err != nil {
			return
		}
		if name == "" || strings.Contains(version, "/") {
			t.Fatalf("parseBadgePath(%q) = %q, %q", s, name, version)
		}
		// The path built from the result parses back to the same values.
		n2, v2, err := parseBadgePath(strings.TrimPrefix(badgePath(name, version), "/badge/"))
		if err != nil || n2 != name || v2 != version {
			t.Fatalf("round trip of %q: %q %q %v", s, n2, v2, err)
		}
	})
}
