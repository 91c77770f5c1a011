package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/provenant/provenant/npmwire"
)

// npmAs is an npm environment logged in with token (written to its
// .npmrc the way npm login does).
func npmAs(t *testing.T, r *testRegistry, token string) *npmEnv {
	t.Helper()
	n := newNPMEnv(t, r.URL)
	u, _ := url.Parse(r.URL)
	rc := "registry=" + r.URL + "/\n//" + u.Host + "/:_authToken=" + token + "\n"
	if err := os.WriteFile(n.npmrc, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// owners reads the package's maintainers from the full packument.
func (r *testRegistry) owners(t *testing.T, path string) ([]string, string) {
	t.Helper()
	code, b, _ := r.do(t, http.MethodGet, path, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	var doc struct {
		Rev         string           `json:"_rev"`
		Maintainers []npmwire.Person `json:"maintainers"`
	}
	json.Unmarshal(b, &doc)
	var names []string
	for _, m := range doc.Maintainers {
		names = append(names, m.Name)
	}
	return names, doc.Rev
}

// TestRealNPMOwner runs npm owner ls, add and rm with the real npm CLI:
// only an owner changes owners, a new owner may publish and a removed one
// may not, and the last owner cannot be removed.
func TestRealNPMOwner(t *testing.T) {
	r := newTestRegistry(t)
	alice := npmAs(t, r, r.addUser(t, "alice"))
	bobTok := r.addUser(t, "bob")
	bob := npmAs(t, r, bobTok)
	malloryTok := r.addUser(t, "mallory")
	mallory := npmAs(t, r, malloryTok)
	work := t.TempDir()
	pkgDir := filepath.Join(work, "pkg")
	for _, name := range []string{"owned-pkg", "@acme/owned"} {
		writePackage(t, pkgDir, name, "1.0.0")
		alice.must(pkgDir, "publish", "--access", "public")
	}

	if got := strings.TrimSpace(alice.must(work, "owner", "ls", "owned-pkg")); got != "alice <alice@example.com>" {
		t.Fatalf("npm owner ls = %q", got)
	}
	// A non-owner cannot add themselves.
	if out, err := bob.run(work, "", "owner", "add", "bob", "owned-pkg"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("owner add by a non-owner: err %v\n%s", err, out)
	}
	// Unknown users cannot become owners (npm looks the user up first).
	if out, err := alice.run(work, "", "owner", "add", "nobody", "owned-pkg"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("owner add of an unknown user: err %v\n%s", err, out)
	}
	for _, pkg := range []string{"owned-pkg", "@acme/owned"} {
		alice.must(work, "owner", "add", "bob", pkg)
		if got := alice.must(work, "owner", "ls", pkg); !strings.Contains(got, "alice <alice@example.com>") || !strings.Contains(got, "bob <bob@example.com>") {
			t.Fatalf("npm owner ls %s after add:\n%s", pkg, got)
		}
	}
	// The new owner may publish and remove the first.
	writePackage(t, pkgDir, "owned-pkg", "1.1.0")
	bob.must(pkgDir, "publish")
	bob.must(work, "owner", "rm", "alice", "owned-pkg")
	if got := strings.TrimSpace(bob.must(work, "owner", "ls", "owned-pkg")); got != "bob <bob@example.com>" {
		t.Fatalf("npm owner ls after rm = %q", got)
	}
	writePackage(t, pkgDir, "owned-pkg", "1.2.0")
	if out, err := alice.run(pkgDir, "", "publish"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("publish by a removed owner: err %v\n%s", err, out)
	}
	// npm itself refuses to remove the last owner; so does the registry
	// for a client that tries.
	if out, err := bob.run(work, "", "owner", "rm", "bob", "owned-pkg"); err == nil || !strings.Contains(out, "EOWNERRM") {
		t.Fatalf("npm owner rm of the last owner: err %v\n%s", err, out)
	}

	_, rev := r.owners(t, "/owned-pkg")
	put := func(token, rev string, maintainers []npmwire.Person) (int, string) {
		body, _ := json.Marshal(map[string]any{"_id": "owned-pkg", "_rev": rev, "maintainers": maintainers})
		code, b, _ := r.do(t, http.MethodPut, "/owned-pkg/-rev/"+rev, token, body)
		return code, string(b)
	}
	bad := []struct {
		name, token, rev string
		maintainers      []npmwire.Person
		code             int
		want             string
	}{
		{"last owner removed", bobTok, rev, []npmwire.Person{}, http.StatusBadRequest, "last owner"},
		{"non-owner", malloryTok, rev, []npmwire.Person{{Name: "mallory"}}, http.StatusForbidden, "not a maintainer"},
		{"unknown user", bobTok, rev, []npmwire.Person{{Name: "bob"}, {Name: "ghost"}}, http.StatusBadRequest, "ghost\\\" is not a user"},
		{"nameless maintainer", bobTok, rev, []npmwire.Person{{Name: "bob"}, {Email: "x@example.com"}}, http.StatusBadRequest, "without a name"},
		{"stale revision", bobTok, "1-0", []npmwire.Person{{Name: "bob"}, {Name: "mallory"}}, http.StatusConflict, "stale"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code, body := put(tt.token, tt.rev, tt.maintainers)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("status %d %s, want %d naming %q", code, body, tt.code, tt.want)
			}
			if got, gotRev := r.owners(t, "/owned-pkg"); !slices.Equal(got, []string{"bob"}) || gotRev != rev {
				t.Fatalf("rejected change left owners %v rev %s (was [bob] %s)", got, gotRev, rev)
			}
		})
	}
	if out := mallory.must(work, "owner", "ls", "@acme/owned"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") {
		t.Fatalf("scoped owners:\n%s", out)
	}
}
