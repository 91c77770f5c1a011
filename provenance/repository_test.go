package provenance_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

var repositoryTests = []struct {
	name string
	in   string // the package.json "repository" value, as JSON
	want string // "" when an error is expected
	// npm is true when npm's own pipeline (hosted-git-info in npm
	// publish, then the registry stripping "git+" and ".git") gives the
	// same URL; false rows are where Provenant is deliberately kinder
	// (ssh forms) or where npm gives no URL at all.
	npm bool
}{
	{"plain https", `"https://github.com/o/r"`, "https://github.com/o/r", true},
	{"object form", `{"type":"git","url":"git+https://github.com/o/r.git"}`, "https://github.com/o/r", true},
	{"git+ prefix", `"git+https://github.com/o/r"`, "https://github.com/o/r", true},
	{".git suffix", `"https://github.com/o/r.git"`, "https://github.com/o/r", true},
	{"trailing slash", `"https://github.com/o/r/"`, "https://github.com/o/r", true},
	{"trailing slash after .git", `"https://github.com/o/r.git/"`, "https://github.com/o/r", true},
	{"case kept", `"git+https://github.com/Llorx/Arrange-Act.git"`, "https://github.com/Llorx/Arrange-Act", true},
	{"host lowercased", `"https://GITHUB.com/o/r"`, "https://github.com/o/r", true},
	{"github shorthand", `"github:o/r"`, "https://github.com/o/r", true},
	{"owner/repo shorthand", `"provenant-demo/hello-provenance"`, "https://github.com/provenant-demo/hello-provenance", true},
	{"owner/repo shorthand case kept", `"Llorx/Arrange"`, "https://github.com/Llorx/Arrange", true},
	{"gitlab shorthand", `"gitlab:group/project"`, "https://gitlab.com/group/project", true},
	{"bitbucket shorthand", `"bitbucket:o/r"`, "https://bitbucket.org/o/r", true},
	{"gitlab subgroup", `"git+https://gitlab.com/group/sub/project.git"`, "https://gitlab.com/group/sub/project", true},
	{"object with extra fields", `{"type":"git","url":"https://github.com/o/r","directory":"packages/x"}`, "https://github.com/o/r", true},
	{"scp ssh", `"git@github.com:o/r.git"`, "https://github.com/o/r", false},
	{"ssh url", `"ssh://git@github.com/o/r.git"`, "https://github.com/o/r", false},
	{"git+ssh url", `"git+ssh://git@github.com/o/r.git"`, "https://github.com/o/r", false},
	{"ssh url with port", `"ssh://git@github.com:22/o/r.git"`, "https://github.com/o/r", false},
	{"git protocol", `"git://github.com/o/r.git"`, "https://github.com/o/r", false},
	{"gitlab scp ssh", `"git@gitlab.com:group/sub/project.git"`, "https://gitlab.com/group/sub/project", false},
	{"committish dropped", `"https://github.com/o/r#main"`, "https://github.com/o/r", false},
	{"tree path cut", `"https://github.com/o/r/tree/main/packages/x"`, "https://github.com/o/r", false},
	{"http kept (and fails to match https)", `"http://github.com/o/r"`, "http://github.com/o/r", false},
	{"other host kept", `"https://git.example.com/o/r.git"`, "https://git.example.com/o/r", false},
	{"other host ssh keeps ssh", `"git@git.example.com:o/r.git"`, "ssh://git@git.example.com/o/r", false},
	{"loopback forge", `"http://127.0.0.1:8080/o/r.git"`, "http://127.0.0.1:8080/o/r", false},
	{"missing", ``, "", false},
	{"null", `null`, "", false},
	{"empty string", `""`, "", false},
	{"object without url", `{"type":"git"}`, "", false},
	{"object with number url", `{"url":1}`, "", false},
	{"number", `1`, "", false},
	{"array", `["https://github.com/o/r"]`, "", false},
	{"no host", `"https:///o/r"`, "", false},
	{"bare word", `"hello"`, "", false},
	{"space inside", `"https://github.com/o/r x"`, "", false},
	{"host only", `"https://github.com/"`, "", false},
}

func TestNormalizeRepositoryURL(t *testing.T) {
	for _, tt := range repositoryTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provenance.NormalizeRepositoryURL(json.RawMessage(tt.in))
			if tt.want == "" {
				var ce *provenance.CheckError
				if !errors.As(err, &ce) || (ce.Check != "repository-missing" && ce.Check != "repository-url") {
					t.Fatalf("got (%q, %v), want a repository check error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestNormalizeRepositoryURLMatchesNpm runs npm's own normalisation
// (@npmcli/package-json fixRepositoryField, which uses hosted-git-info)
// on every row marked npm, strips "git+" and ".git" as npm's registry
// does, and requires the same URL as ours.
func TestNormalizeRepositoryURLMatchesNpm(t *testing.T) {
	lib := npmtest.LibnpmpublishDir(t)
	pkgJSON := filepath.Join(filepath.Dir(lib), "@npmcli", "package-json")
	var inputs []json.RawMessage
	var rows []int
	for i, tt := range repositoryTests {
		if tt.npm {
			inputs = append(inputs, json.RawMessage(tt.in))
			rows = append(rows, i)
		}
	}
	in, _ := json.Marshal(inputs)
	script := `
const PJ = require(process.argv[1])
const inputs = JSON.parse(require('fs').readFileSync(0, 'utf8'))
;(async () => {
  const out = []
  for (const repository of inputs) {
    const p = await new PJ().fromContent({ name: 'a', version: '1.0.0', repository }).normalize({ steps: ['fixRepositoryField'] })
    out.push(p.content.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''))
  }
  process.stdout.write(JSON.stringify(out))
})()`
	cmd := exec.Command("node", "-e", script, pkgJSON)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var npm []string
	if err := json.Unmarshal(out, &npm); err != nil || len(npm) != len(rows) {
		t.Fatalf("node output %s: %v", out, err)
	}
	for k, i := range rows {
		tt := repositoryTests[i]
		if npm[k] != tt.want {
			t.Errorf("%s: npm gives %q, the table says %q", tt.name, npm[k], tt.want)
		}
	}
}

func TestCheckRepository(t *testing.T) {
	const src = "https://github.com/provenant-demo/hello-provenance"
	tests := []struct {
		name, pkg, check, actual string
	}{
		{"match", `{"repository":"git+https://github.com/provenant-demo/hello-provenance.git"}`, "", ""},
		{"match shorthand", `{"repository":"provenant-demo/hello-provenance"}`, "", ""},
		{"repositories replaces repository", `{"repository":"x/y","repositories":[{"url":"https://github.com/provenant-demo/hello-provenance"}]}`, "", ""},
		{"missing", `{"name":"a"}`, "repository-missing", ""},
		{"empty repositories", `{"repository":"provenant-demo/hello-provenance","repositories":[]}`, "repository-missing", ""},
		{"not json", `{`, "repository-missing", ""},
		{"other repo", `{"repository":{"url":"git+https://github.com/aws/json2jsii.git"}}`, "repository-url", "git+https://github.com/aws/json2jsii.git"},
		{"case differs", `{"repository":"https://github.com/Provenant-Demo/hello-provenance"}`, "repository-url", "https://github.com/Provenant-Demo/hello-provenance"},
		{"http", `{"repository":"git+http://github.com/provenant-demo/hello-provenance.git"}`, "repository-url", "git+http://github.com/provenant-demo/hello-provenance.git"},
		{"unparseable", `{"repository":"hello"}`, "repository-url", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := provenance.CheckRepository([]byte(tt.pkg), src)
			if tt.check == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *provenance.CheckError
			if !errors.As(err, &ce) || ce.Check != tt.check {
				t.Fatalf("got %v, want check %s", err, tt.check)
			}
			if ce.Expected != src || ce.Actual != tt.actual {
				t.Errorf("expected/actual = %q/%q, want %q/%q", ce.Expected, ce.Actual, src, tt.actual)
			}
		})
	}
}

func TestCheckRepositorySizeLimit(t *testing.T) {
	const src = "https://github.com/o/r"
	body := `{"repository":"o/r","x":"`
	pkg := func(n int) []byte { return []byte(body + strings.Repeat("a", n-len(body)-2) + `"}`) }
	if err := provenance.CheckRepository(pkg(limits.MaxPackageJSONBytes), src); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if err := provenance.CheckRepository(pkg(limits.MaxPackageJSONBytes+1), src); err == nil {
		t.Error("one past the limit: no error")
	}
}
