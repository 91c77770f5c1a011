package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/publisher"
	"github.com/provenant/provenant/trust/oidc"
)

// DefaultExampleDir is the example package the demo publishes, relative to
// the repository root.
const DefaultExampleDir = "examples/hello-provenance"

// demoWorkflow is the GitHub Actions workflow committed with the demo
// package when the example has none: the job the demo simulates.
const demoWorkflow = `# The job "provenant dev --demo" simulates: publish with Sigstore provenance.
name: release
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - run: provenant publish --provenance --access public
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
`

// demoUser is the registry account the demo publishes as.
const demoUser = "demo"

// DemoOptions configure [Stack.Demo].
type DemoOptions struct {
	// ExampleDir is the package folder to publish; empty means
	// DefaultExampleDir.
	ExampleDir string
	// Workflow is the workflow file the simulated job runs; empty means
	// the first .github/workflows/*.yml of the example, or
	// .github/workflows/release.yml.
	Workflow string
	// Progress, if set, receives one line per publish step.
	Progress func(line string)
}

// DemoInfo says what the demo published and where to look at it.
type DemoInfo struct {
	// Package and Version are what was published.
	Package string `json:"package"`
	Version string `json:"version"`
	// Repository is the source repository the statement names, and
	// Commit the commit the job built (it exists in the forge).
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
	// PageURL, BadgeURL and LogEntryURL are the pages to open.
	PageURL     string `json:"pageUrl"`
	BadgeURL    string `json:"badgeUrl"`
	LogEntryURL string `json:"logEntryUrl"`
	// LogIndex is the transparency-log entry of the provenance bundle.
	LogIndex int64 `json:"logIndex"`
}

// Demo publishes the example package as a simulated GitHub Actions job:
// it commits the package to its repository in the forge, asks the OIDC
// issuer for the job's environment (ACTIONS_ID_TOKEN_REQUEST_URL and
// _TOKEN, GITHUB_*), and runs the publisher library with --provenance
// against the registry, exactly as `provenant publish --provenance` does in
// CI. A data directory that already holds the version gets the next patch
// version, in a new commit.
func (s *Stack) Demo(ctx context.Context, o DemoOptions) (*DemoInfo, error) {
	if o.ExampleDir == "" {
		o.ExampleDir = DefaultExampleDir
	}
	files, err := readTree(o.ExampleDir)
	if err != nil {
		return nil, fmt.Errorf("devstack: demo package %s: %w", o.ExampleDir, err)
	}
	var m struct {
		Name       string          `json:"name"`
		Version    string          `json:"version"`
		Repository json.RawMessage `json:"repository"`
	}
	if err := json.Unmarshal([]byte(files["package.json"]), &m); err != nil {
		return nil, fmt.Errorf("devstack: demo package.json: %w", err)
	}
	repoURL, ownerRepo, err := githubRepo(m.Repository)
	if err != nil {
		return nil, fmt.Errorf("devstack: demo package.json repository: %w", err)
	}
	workflow := o.Workflow
	if workflow == "" {
		workflow = firstWorkflow(files)
	}
	if _, ok := files[workflow]; !ok {
		// Commit the workflow the simulated job runs, so that the build
		// file the provenance names exists at the commit.
		files[workflow] = demoWorkflow
	}

	version, err := s.nextVersion(ctx, m.Name, m.Version)
	if err != nil {
		return nil, err
	}
	if version != m.Version {
		if files["package.json"], err = setVersion(files["package.json"], version); err != nil {
			return nil, err
		}
	}

	work := filepath.Join(s.cfg.DataDir, "demo", filepath.FromSlash(ownerRepo))
	sha, err := commitAndPush(ctx, work, filepath.Join(s.cfg.DataDir, "forge", filepath.FromSlash(ownerRepo)+".git"), files, "release "+version)
	if err != nil {
		return nil, fmt.Errorf("devstack: demo commit: %w", err)
	}
	env, err := s.services.JobEnv(oidc.JobSpec{Repository: ownerRepo, SHA: sha, Ref: "refs/heads/main", Workflow: workflow, WorkflowName: "release"})
	if err != nil {
		return nil, fmt.Errorf("devstack: demo job: %w", err)
	}
	token, err := s.demoToken(ctx)
	if err != nil {
		return nil, err
	}
	res, err := publisher.Publish(ctx, publisher.Options{
		Path:          work,
		Registry:      s.Info.RegistryURL,
		Token:         token,
		Provenance:    true,
		SigningConfig: s.services.SigningConfigJSON(),
		TrustedRoot:   s.services.TrustedRootJSON(),
		Getenv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		Progress: func(st publisher.Step) {
			if o.Progress != nil {
				o.Progress(publisher.StepLine(st))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("devstack: demo publish: %w", err)
	}
	if res.Provenance == nil {
		return nil, errors.New("devstack: demo publish attached no provenance")
	}
	d := &DemoInfo{
		Package: m.Name, Version: version, Repository: repoURL, Commit: sha,
		PageURL:     s.Info.RegistryURL + "/" + m.Name + "/" + version,
		BadgeURL:    s.Info.RegistryURL + "/badge/" + m.Name + ".svg",
		LogEntryURL: s.Info.RegistryURL + "/-/log/entries/" + strconv.FormatInt(res.Provenance.LogIndex, 10),
		LogIndex:    res.Provenance.LogIndex,
	}
	s.Info.Demo = d
	return d, s.writeInfo()
}

// readTree reads every file of a package folder, skipping node_modules
// and .git, keyed by slash path.
func readTree(dir string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := files["package.json"]; !ok {
		return nil, errors.New("no package.json")
	}
	return files, nil
}

var githubRepoRE = regexp.MustCompile(`^https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(\.git)?/?$`)

// githubRepo reads a package.json repository field naming a GitHub
// repository and returns its URL and owner/repo.
func githubRepo(raw json.RawMessage) (repoURL, ownerRepo string, err error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var o struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return "", "", errors.New("missing")
		}
		s = o.URL
	}
	s = strings.TrimPrefix(s, "git+")
	mm := githubRepoRE.FindStringSubmatch(s)
	if mm == nil {
		return "", "", fmt.Errorf("%q is not a https://github.com/owner/repo URL", s)
	}
	return "https://github.com/" + mm[1], mm[1], nil
}

func firstWorkflow(files map[string]string) string {
	best := ""
	for p := range files {
		if strings.HasPrefix(p, ".github/workflows/") && strings.Count(p, "/") == 2 && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			if best == "" || p < best {
				best = p
			}
		}
	}
	if best == "" {
		return ".github/workflows/release.yml"
	}
	return best
}

var versionFieldRE = regexp.MustCompile(`("version"\s*:\s*)"[^"]*"`)

// setVersion replaces the version in package.json text, keeping the rest
// of the file byte for byte.
func setVersion(pkgJSON, version string) (string, error) {
	loc := versionFieldRE.FindStringSubmatchIndex(pkgJSON)
	if loc == nil {
		return "", errors.New("devstack: package.json has no version field")
	}
	out := pkgJSON[:loc[0]] + pkgJSON[loc[2]:loc[3]] + strconv.Quote(version) + pkgJSON[loc[1]:]
	var check struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(out), &check); err != nil || check.Version != version {
		return "", fmt.Errorf("devstack: could not set the version in package.json (got %q)", check.Version)
	}
	return out, nil
}

// nextVersion returns want when the registry does not have it yet, and
// otherwise the patch after the highest published version.
func (s *Stack) nextVersion(ctx context.Context, name, want string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Info.RegistryURL+"/"+strings.Replace(url.PathEscape(name), "%40", "@", 1), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("devstack: reading %s from the registry: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return want, nil
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("devstack: reading %s from the registry: HTTP %d", name, resp.StatusCode)
	}
	var p struct {
		Versions map[string]json.RawMessage `json:"versions"`
		Time     map[string]string          `json:"time"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&p); err != nil {
		return "", fmt.Errorf("devstack: packument of %s: %w", name, err)
	}
	taken := map[string]bool{}
	for v := range p.Versions {
		taken[v] = true
	}
	for v := range p.Time { // includes unpublished versions, which can never be reused
		taken[v] = true
	}
	if !taken[want] {
		return want, nil
	}
	high, err := semver.StrictNewVersion(want)
	if err != nil {
		return "", fmt.Errorf("devstack: demo version %q: %w", want, err)
	}
	for v := range taken {
		if sv, err := semver.StrictNewVersion(v); err == nil && sv.GreaterThan(high) {
			high = sv
		}
	}
	next := high.IncPatch()
	return next.String(), nil
}

// commitAndPush writes files into the work tree (a git repository kept
// across runs), commits them and pushes main to the bare repository,
// which it creates on the first run. It returns the commit SHA.
func commitAndPush(ctx context.Context, work, bare string, files map[string]string, message string) (string, error) {
	if _, err := os.Stat(bare); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(bare, 0o750); err != nil {
			return "", err
		}
		if _, err := git(ctx, bare, "init", "--bare", "--quiet", "--initial-branch=main"); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(work, ".git")); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(work, 0o750); err != nil {
			return "", err
		}
		if _, err := git(ctx, work, "init", "--quiet", "--initial-branch=main"); err != nil {
			return "", err
		}
	}
	for p, content := range files {
		abs := filepath.Join(work, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
			return "", err
		}
		if err := os.WriteFile(abs, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := git(ctx, work, "add", "--all"); err != nil {
		return "", err
	}
	if _, err := git(ctx, work, "-c", "user.name=Provenant Demo", "-c", "user.email=demo@provenant.invalid",
		"commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", message); err != nil {
		return "", err
	}
	if _, err := git(ctx, work, "push", "--quiet", "--force", bare, "HEAD:refs/heads/main"); err != nil {
		return "", err
	}
	return git(ctx, work, "rev-parse", "HEAD")
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_DATE=", "GIT_COMMITTER_DATE=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// demoToken logs the demo account in (creating it on the first run) with
// npm's adduser request and returns a fresh token. The password lives in
// DIR/demo/password, readable by the owner only.
func (s *Stack) demoToken(ctx context.Context) (string, error) {
	pwFile := filepath.Join(s.cfg.DataDir, "demo", "password")
	pw, err := os.ReadFile(pwFile)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		pw = []byte(hex.EncodeToString(b))
		if err := os.MkdirAll(filepath.Dir(pwFile), 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(pwFile, pw, 0o600); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	body, err := json.Marshal(npmwire.AddUserRequest{ID: "org.couchdb.user:" + demoUser, Name: demoUser, Password: string(pw),
		Email: "demo@provenant.invalid", Type: "user", Date: time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.Info.RegistryURL+"/-/user/org.couchdb.user:"+demoUser, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("devstack: demo login: %w", err)
	}
	defer resp.Body.Close()
	var ar npmwire.AddUserResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ar); err != nil || resp.StatusCode != http.StatusCreated || ar.Token == "" {
		return "", fmt.Errorf("devstack: demo login: HTTP %d (%v)", resp.StatusCode, err)
	}
	return ar.Token, nil
}
