package provenance_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

const exampleDir = "../examples/hello-provenance"

// TestExamplePackage packs examples/hello-provenance with the real npm,
// builds our statement for the tarball, checks it against npm's own and
// runs the subject and repository checks a registry would run.
func TestExamplePackage(t *testing.T) {
	pkgJSON, err := os.ReadFile(filepath.Join(exampleDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(pkgJSON, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "hello-provenance" {
		t.Fatalf("example name %q", pkg.Name)
	}
	if err := provenance.CheckRepository(pkgJSON, "https://github.com/provenant-demo/hello-provenance"); err != nil {
		t.Fatal(err)
	}
	npmtest.LibnpmpublishDir(t) // fails without npm
	out := t.TempDir()
	cmd := exec.Command("npm", "pack", "--silent", "--pack-destination", out, filepath.Join(exampleDir))
	cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(out, "cache"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm pack: %v\n%s", err, b)
	}
	tarball, err := os.ReadFile(filepath.Join(out, pkg.Name+"-"+pkg.Version+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	env := npmtest.GitHubEnv()
	st, err := provenance.BuildStatement(lookup(env), pkg.Name, pkg.Version, tarball)
	if err != nil {
		t.Fatal(err)
	}
	npm := npmtest.Publish(t, env, pkgJSON, tarball)
	if !jsonEqual(t, st, npm.Statement) {
		t.Fatalf("statements differ\nours: %s\nnpm:  %s", st, npm.Statement)
	}
	s, err := provenance.ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := provenance.CheckSubject(s, pkg.Name, pkg.Version, tarball); err != nil {
		t.Fatal(err)
	}
	if err := provenance.CheckRepository(pkgJSON, s.SourceRepositoryURI); err != nil {
		t.Fatal(err)
	}
}

func TestExampleWorkflows(t *testing.T) {
	var gh struct {
		Jobs map[string]struct {
			Permissions map[string]string
			Steps       []struct{ Run string }
		}
	}
	readYAML(t, "../examples/github/publish.yml", &gh)
	job, ok := gh.Jobs["publish"]
	if !ok {
		t.Fatal("publish.yml has no publish job")
	}
	if job.Permissions["id-token"] != "write" {
		t.Errorf("publish job permissions %v lack id-token: write", job.Permissions)
	}
	if !slices.ContainsFunc(job.Steps, func(s struct{ Run string }) bool { return strings.Contains(s.Run, "provenant publish --provenance") }) {
		t.Error("publish.yml does not run provenant publish --provenance")
	}

	var gl struct {
		Publish *struct {
			IDTokens map[string]struct{ Aud any } `yaml:"id_tokens"`
			Script   []string
		}
	}
	readYAML(t, "../examples/gitlab/.gitlab-ci.yml", &gl)
	pub := gl.Publish
	if pub == nil {
		t.Fatal(".gitlab-ci.yml has no publish job")
	}
	if tok, ok := pub.IDTokens["SIGSTORE_ID_TOKEN"]; !ok || tok.Aud != "sigstore" {
		t.Errorf("id_tokens %v lack SIGSTORE_ID_TOKEN with aud sigstore", pub.IDTokens)
	}
	if !slices.ContainsFunc(pub.Script, func(s string) bool { return strings.Contains(s, "provenant publish --provenance") }) {
		t.Error(".gitlab-ci.yml does not run provenant publish --provenance")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
