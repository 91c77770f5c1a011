package verify

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPolicyFor(t *testing.T) {
	yes, no := true, false
	p := Policy{
		Default: Rules{AllowedIssuers: []string{IssuerGitHubActions}, CommitCheck: CommitWarn},
		Packages: []PackageRules{
			{Match: "*", Rules: Rules{ProvenanceRequired: &no}},
			{Match: "@acme/*", Rules: Rules{ProvenanceRequired: &yes, RunnerEnvironments: []string{"self-hosted"}}},
			{Match: "@acme/internal-*", Rules: Rules{RepositoryVisibility: []string{"private"}, TrustedRoots: []string{RootPrivate}}},
			{Match: "@acme/internal-tool", Rules: Rules{CommitCheck: CommitOff, ProvenanceRequired: &no}},
			{Match: "left-pad", Rules: Rules{TrustedPublishers: []TrustedPublisher{{Repository: "https://github.com/o/left-pad"}}}},
		},
	}
	for _, tc := range []struct {
		name string
		want Effective
	}{
		{"react", Effective{
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: DefaultRunnerEnvironments,
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitWarn, Matched: []string{"*"}}},
		{"@acme/web", Effective{ProvenanceRequired: true,
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: []string{"self-hosted"},
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitWarn, Matched: []string{"*", "@acme/*"}}},
		{"@acme/internal-db", Effective{ProvenanceRequired: true, TrustedRoots: []string{RootPrivate},
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: []string{"self-hosted"},
			RepositoryVisibility: []string{"private"}, CommitCheck: CommitWarn, Matched: []string{"*", "@acme/*", "@acme/internal-*"}}},
		{"@acme/internal-tool", Effective{ProvenanceRequired: false, TrustedRoots: []string{RootPrivate},
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: []string{"self-hosted"},
			RepositoryVisibility: []string{"private"}, CommitCheck: CommitOff,
			Matched: []string{"*", "@acme/*", "@acme/internal-*", "@acme/internal-tool"}}},
		{"left-pad", Effective{
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: DefaultRunnerEnvironments,
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitWarn,
			TrustedPublishers: []TrustedPublisher{{Repository: "https://github.com/o/left-pad"}}, Matched: []string{"*", "left-pad"}}},
		{"left-pad-2", Effective{
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: DefaultRunnerEnvironments,
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitWarn, Matched: []string{"*"}}},
		{"@acmeish/x", Effective{
			AllowedIssuers: []string{IssuerGitHubActions}, RunnerEnvironments: DefaultRunnerEnvironments,
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitWarn, Matched: []string{"*"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.For(tc.name); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("For(%q)\n got %+v\nwant %+v", tc.name, got, tc.want)
			}
		})
	}

	t.Run("empty policy gives npm's defaults", func(t *testing.T) {
		got := (&Policy{}).For("anything")
		want := Effective{AllowedIssuers: DefaultIssuers, RunnerEnvironments: DefaultRunnerEnvironments,
			RepositoryVisibility: DefaultRepositoryVisibility, CommitCheck: CommitRequire}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("declaration order does not matter", func(t *testing.T) {
		rev := Policy{Default: p.Default}
		for i := len(p.Packages) - 1; i >= 0; i-- {
			rev.Packages = append(rev.Packages, p.Packages[i])
		}
		for _, name := range []string{"@acme/internal-tool", "@acme/internal-db", "left-pad"} {
			if a, b := p.For(name), rev.For(name); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: %+v != %+v", name, a, b)
			}
		}
	})
}

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		list  []string
		value string
		want  bool
	}{
		{[]string{"github-hosted"}, "github-hosted", true},
		{[]string{"github-hosted"}, "self-hosted", false},
		{[]string{"github-hosted"}, "", false},
		{[]string{Any}, "", true},
		{[]string{Any}, "anything", true},
		{[]string{}, "github-hosted", false},
		{[]string{""}, "", false},
	} {
		if got := allows(tc.list, tc.value); got != tc.want {
			t.Errorf("allows(%q, %q) = %v, want %v", tc.list, tc.value, got, tc.want)
		}
	}
}

func TestWorkflowPath(t *testing.T) {
	for _, tc := range []struct{ uri, repo, want string }{
		{"https://github.com/o/r/.github/workflows/release.yml@refs/heads/main", "https://github.com/o/r", ".github/workflows/release.yml"},
		{"https://github.com/o/r/.github/workflows/release.yml@refs/tags/pkg@1.0.0", "https://github.com/o/r", ".github/workflows/release.yml"},
		{"https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", "https://gitlab.com/g/p", ".gitlab-ci.yml"},
		{"https://github.com/other/r/.github/workflows/x.yml@refs/heads/main", "https://github.com/o/r", ""},
		{"", "https://github.com/o/r", ""},
	} {
		if got := workflowPath(tc.uri, tc.repo); got != tc.want {
			t.Errorf("workflowPath(%q, %q) = %q, want %q", tc.uri, tc.repo, got, tc.want)
		}
	}
}

// TestConfigYAML decodes a registry-style configuration strictly, and
// checks that validation names the bad field.
func TestConfigYAML(t *testing.T) {
	const good = `
trustedRoots:
  - name: public-good
    path: /etc/provenant/public-good.json
  - name: private
    path: /var/lib/provenant/trust/trusted_root.json
    requireSCT: false
policy:
  default:
    allowedIssuers: [https://token.actions.githubusercontent.com, https://gitlab.com]
    commitCheck: warn
  packages:
    - match: "@acme/*"
      provenanceRequired: true
      trustedRoots: [private]
      runnerEnvironments: [github-hosted, self-hosted]
      repositoryVisibility: ["*"]
      trustedPublishers:
        - repository: https://github.com/acme/tools
          workflow: .github/workflows/release.yml
          environment: npm
commit:
  timeout: 5s
  cacheTTL: 1h
  rewrites:
    - prefix: https://github.com/
      replacement: http://127.0.0.1:8081/
  githubAPI:
    enabled: true
    tokenEnv: GITHUB_TOKEN
`
	var cfg Config
	dec := yaml.NewDecoder(strings.NewReader(good))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := cfg.Policy.For("@acme/tools")
	if !e.ProvenanceRequired || e.CommitCheck != CommitWarn || len(e.TrustedPublishers) != 1 || e.TrustedPublishers[0].Environment != "npm" ||
		cfg.Commit.Timeout.Seconds() != 5 || cfg.Commit.Rewrites[0].Replacement != "http://127.0.0.1:8081/" || cfg.TrustedRoots[1].RequireSCT == nil {
		t.Errorf("decoded %+v / effective %+v", cfg, e)
	}

	for _, tc := range []struct{ name, edit, want string }{
		{"unknown key", "  default:\n", "  default:\n    allowedIsuers: []\n"},
		{"unknown root", "trustedRoots: [private]", "trustedRoots: [other]"},
		{"bad mode", "commitCheck: warn", "commitCheck: maybe"},
		{"bad issuer", "https://gitlab.com]", "gitlab]"},
		{"bad pattern", `"@acme/*"`, `"@acme/*/*"`},
		{"duplicate root", "name: private", "name: public-good"},
		{"bad rewrite", "replacement: http://127.0.0.1:8081/", "replacement: 127.0.0.1"},
		{"bad publisher", "repository: https://github.com/acme/tools", "repository: acme/tools"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.edit, tc.want, 1)
			if src == good {
				t.Fatalf("edit %q not applied", tc.edit)
			}
			var cfg Config
			dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err == nil {
				if err := cfg.Validate(); err == nil {
					t.Fatal("accepted")
				}
			}
		})
	}
	t.Run("no roots", func(t *testing.T) {
		if err := (&Config{}).Validate(); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("root without a source", func(t *testing.T) {
		if _, err := New(Config{TrustedRoots: []RootConfig{{Name: "x"}}}); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := New(Config{TrustedRoots: []RootConfig{{Name: "x", Path: "/nonexistent/root.json"}}}); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("not a trusted root", func(t *testing.T) {
		if _, err := New(Config{TrustedRoots: []RootConfig{{Name: "x", JSON: []byte(`{"mediaType":"nope"}`)}}}); err == nil {
			t.Fatal("accepted")
		}
	})
}

// FuzzPolicyFor checks the policy matcher on arbitrary names and patterns:
// an exact pattern matches only itself, a prefix pattern only names with
// that prefix, and For never panics.
func FuzzPolicyFor(f *testing.F) {
	f.Add("@acme/*", "@acme/tool")
	f.Add("left-pad", "left-pad")
	f.Add("*", "")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		exact, ok := matchPattern(pattern, name)
		if exact && ok != (pattern == name) {
			t.Fatalf("exact %q vs %q: %v", pattern, name, ok)
		}
		if !exact && ok != strings.HasPrefix(name, strings.TrimSuffix(pattern, "*")) {
			t.Fatalf("prefix %q vs %q: %v", pattern, name, ok)
		}
		p := Policy{Packages: []PackageRules{{Match: pattern, Rules: Rules{CommitCheck: CommitOff}}}}
		if got := p.For(name); (got.CommitCheck == CommitOff) != ok {
			t.Fatalf("For(%q) with %q = %+v", name, pattern, got)
		}
	})
}
