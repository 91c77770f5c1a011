package registry

import (
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	long := strings.Repeat("a", 214)
	tests := map[string]bool{
		"left-pad": true, "@scope/pkg": true, "a.b_c~d": true, long: true, long + "a": false,
		"": false, "Upper": false, ".hidden": false, "_under": false, "@scope": false, "@/x": false,
		"@s/": false, "@s/a/b": false, "a b": false, "a/b": false, "badge": false, "-": false,
		"node_modules": false, "@scope/badge": true,
	}
	for name, ok := range tests {
		if err := validName(name); (err == nil) != ok {
			t.Errorf("validName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestSplitPackagePath(t *testing.T) {
	tests := []struct {
		path, name string
		rest       []string
	}{
		{"pkg", "pkg", nil},
		{"@s%2fpkg", "@s/pkg", nil},
		{"@s%2Fpkg/1.0.0", "@s/pkg", []string{"1.0.0"}},
		{"@s/pkg/-/pkg-1.0.0.tgz", "@s/pkg", []string{"-", "pkg-1.0.0.tgz"}},
		{"pkg/-rev/3-abc", "pkg", []string{"-rev", "3-abc"}},
	}
	for _, tt := range tests {
		name, rest, err := splitPackagePath(tt.path)
		if err != nil || name != tt.name || strings.Join(rest, "|") != strings.Join(tt.rest, "|") {
			t.Errorf("splitPackagePath(%q) = %q %q %v", tt.path, name, rest, err)
		}
	}
	for _, bad := range []string{"@s", "%zz", "Bad"} {
		if _, _, err := splitPackagePath(bad); err == nil {
			t.Errorf("splitPackagePath(%q) succeeded", bad)
		}
	}
}
