package provenance_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// TestParityWithNpm drives npm's own libnpmpublish (signing and the
// registry request intercepted) with the same environment, package and
// tarball as BuildStatement, and requires JSON-equal statements.
func TestParityWithNpm(t *testing.T) {
	for _, c := range npmtest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			tarball := []byte(fmt.Sprintf("tarball of %s@%s", c.PackageName, c.Version))
			pkg, _ := json.Marshal(map[string]any{"name": c.PackageName, "version": c.Version, "repository": "provenant-demo/hello-provenance"})
			npm := npmtest.Publish(t, c.Env, pkg, tarball)
			if npm.PayloadType != provenance.PayloadType {
				t.Errorf("npm payload type %q, ours %q", npm.PayloadType, provenance.PayloadType)
			}
			ours, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, tarball)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, ours, npm.Statement) {
				t.Fatalf("statements differ\nours: %s\nnpm:  %s", ours, npm.Statement)
			}
			// The statement must also parse back into a summary that
			// passes the subject check for the same package.
			s, err := provenance.ParseStatement(ours)
			if err != nil {
				t.Fatal(err)
			}
			if err := provenance.CheckSubject(s, c.PackageName, c.Version, tarball); err != nil {
				t.Fatal(err)
			}
		})
	}
}
