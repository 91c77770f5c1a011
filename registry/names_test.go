package registry

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestValidName(t *testing.T) {
	long := strings.Repeat("a", 214)
	tests := map[string]bool{
		"left-pad": true, "@scope/pkg": true, "a.b_c-d": true, long: true, long + "a": false,
		"": false, "Upper": false, ".hidden": false, "_under": false, "-hyphen": false, "@scope": false, "@/x": false,
		"@s/": false, "@s/a/b": false, "a b": false, "a/b": false, "badge": false, "-": false,
		"node_modules": false, "@scope/badge": true, "a~b": false, "a!": false, "(a)": false, "a*": false, "a'b": false,
		"@sc~ope/pkg": true, "@scope/p~kg": false, "http": false, "fs": false, "fs/promises": false, "@scope/http": true,
		"@scope/.pkg": false, "@scope/_pkg": true, "@_scope/pkg": true,
	}
	for name, ok := range tests {
		if err := validName(name); (err == nil) != ok {
			t.Errorf("validName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// TestValidNameErrors checks that a rejection names the rule that failed.
func TestValidNameErrors(t *testing.T) {
	tests := map[string]string{
		"a~b": "special characters", "@s/it's": "special characters", "http": "core module name",
		"-x": "cannot start with", "@s/.x": "cannot start with .", "favicon.ico": "favicon.ico is not a valid package name",
		"Ab": "lowercase", "a:b": "not URL-safe", "badge": "registry route", "healthz": "registry route", "metrics": "registry route", "@S/x": "scope must be lowercase",
	}
	for name, want := range tests {
		err := validName(name)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "invalid package name") {
			t.Errorf("validName(%q) = %v, want an invalid package name error containing %q", name, err, want)
		}
	}
}

// nodeJSON runs a node script and decodes the JSON it prints.
func nodeJSON(t *testing.T, script string, stdin []byte, out any) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	cmd := exec.Command("node", "-e", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v: %s", err, stderr.Bytes())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node output %q: %v", b, err)
	}
}

// nodeBuiltins returns the installed Node's core module names.
func nodeBuiltins(t *testing.T) []string {
	var mods []string
	nodeJSON(t, `console.log(JSON.stringify(require("module").builtinModules))`, nil, &mods)
	if len(mods) < 30 {
		t.Fatalf("node lists only %d core modules: %q", len(mods), mods)
	}
	return mods
}

// TestNodeCoreModules fails when the installed Node has a core module that
// nodeCoreModules lacks ("node:"-prefixed ones are not URL-safe anyway).
func TestNodeCoreModules(t *testing.T) {
	for _, m := range nodeBuiltins(t) {
		if strings.HasPrefix(m, "node:") {
			if validName(m) == nil {
				t.Errorf("validName(%q) accepted a node:-prefixed core module", m)
			}
			continue
		}
		if !nodeCoreModules[m] {
			t.Errorf("node's core module %q is missing from nodeCoreModules", m)
		}
	}
}

// TestValidNameMatchesNpm uses npm's own validate-npm-package-name, from the
// installed npm, as the oracle: validName accepts exactly the names it finds
// validForNewPackages, except the registry's route names, which it rejects.
func TestValidNameMatchesNpm(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	root, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		t.Fatalf("npm root -g: %v", err)
	}
	validator := filepath.Join(strings.TrimSpace(string(root)), "npm", "node_modules", "validate-npm-package-name")
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("npm's validate-npm-package-name: %v", err)
	}

	long := strings.Repeat("a", 214)
	names := []string{
		"left-pad", "a", "0", "a.b", "a_b", "a-b", "a..b", "a.", "a-", "a_",
		".a", "_a", "-a", "-", ".", "..", "_", "~a", "a~b", "a'b", "a!b", "a(b)", "a*", "a~",
		"A", "aB", "a b", " a", "a ", "a\tb", "a:b", "a@b", "a/b", "a%20b", "a+b", "a#b", "a?b", "a$b", "a,b", "a;b", "a=b",
		"a\u00e9", "\u00e9", "a\u00a0", "\ufeffa", "a\u212a",
		"node_modules", "favicon.ico", "Node_modules", "FAVICON.ICO", "node_modules2", "badge", "@scope/badge",
		"http", "HTTP", "fs", "fs/promises", "node:fs", "node:test", "sea", "test", "sqlite", "@scope/http", "@http/pkg",
		"@scope/pkg", "@scope/Pkg", "@Scope/pkg", "@scope", "@scope/", "@/pkg", "@", "@@s/p", "@s/@p", "@s/a/b", "@s//p",
		"@s/.p", "@s/_p", "@s/-p", "@s/-", "@.s/p", "@_s/p", "@-s/p", "@s~/p", "@s!/p", "@(s)/p", "@s*'/p",
		"@s/p~", "@s/p!", "@s/p'", "@s/(p)", "@s/p*", "@s/p q", "@s q/p", "@s/p:q", "@s:t/p", "@s/node_modules", "@s/favicon.ico",
		long, long + "a", "@s/" + long[:211], "@s/" + long[:212],
	}
	for _, m := range nodeBuiltins(t) {
		names = append(names, m, strings.ToUpper(m), "@s/"+m, m+"-x")
	}
	for m := range nodeCoreModules {
		names = append(names, m)
	}
	in, err := json.Marshal(names)
	if err != nil {
		t.Fatal(err)
	}
	var npmValid []bool
	nodeJSON(t, `const v = require(`+strconv.Quote(validator)+`);
const names = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(names.map(n => v(n).validForNewPackages)));`, in, &npmValid)
	if len(npmValid) != len(names) {
		t.Fatalf("npm judged %d names, sent %d", len(npmValid), len(names))
	}
	accepted := 0
	for i, name := range names {
		want := npmValid[i] && !routeNames[name]
		err := validName(name)
		if (err == nil) != want {
			t.Errorf("validName(%q) = %v; npm validForNewPackages = %v", name, err, npmValid[i])
		}
		if want {
			accepted++
		}
	}
	if accepted < 20 || accepted > len(names)-100 {
		t.Errorf("oracle accepted %d of %d names: the name list no longer covers both sides", accepted, len(names))
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
