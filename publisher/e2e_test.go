package publisher_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provenant/provenant/internal/cli"
	"github.com/provenant/provenant/internal/devstack"
	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/publisher"
	"github.com/provenant/provenant/trust/oidc"
)

// stack is a running local stack: registry, trust services and git forge.
type stack struct {
	*devstack.Stack
	token string
}

func startStack(t testing.TB) *stack {
	t.Helper()
	if err := gitforge.Available(); err != nil {
		t.Skipf("git not available: %v", err)
	}
	st, err := devstack.Start(context.Background(), devstack.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &stack{Stack: st, token: addUser(t, st.Info.RegistryURL, "ci-bot")}
}

func postJSON(t testing.TB, method, u string, in, out any) int {
	t.Helper()
	b, _ := json.Marshal(in)
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, u, resp.StatusCode, body)
		}
	}
	return resp.StatusCode
}

// addUser creates a registry account the way `npm adduser` does and
// returns its token.
func addUser(t testing.TB, registry, name string) string {
	t.Helper()
	var ar struct {
		Token string `json:"token"` // Verdaccio's "ok" is a string, npm's a bool: read only the token
	}
	status := postJSON(t, http.MethodPut, registry+"/-/user/org.couchdb.user:"+name, npmwire.AddUserRequest{
		ID: "org.couchdb.user:" + name, Name: name, Password: "correct horse battery staple", Email: name + "@example.invalid",
		Type: "user", Date: time.Now().UTC().Format(time.RFC3339)}, &ar)
	if status != http.StatusCreated || ar.Token == "" {
		t.Fatalf("adduser: HTTP %d", status)
	}
	return ar.Token
}

// jobEnv asks the trust services' OIDC issuer for a simulated job's environment.
func (s *stack) jobEnv(t testing.TB, spec oidc.JobSpec) map[string]string {
	t.Helper()
	var out struct {
		Env map[string]string `json:"env"`
	}
	if status := postJSON(t, http.MethodPost, s.Info.TrustURL+"/oidc/job-env", spec, &out); status != http.StatusOK {
		t.Fatalf("job-env: HTTP %d", status)
	}
	return out.Env
}

// commitPackage creates repo in the forge holding the package files and
// writes the same files to a fresh package folder with a .npmrc that
// reads the token from NODE_AUTH_TOKEN, as actions/setup-node sets it up.
func (s *stack) commitPackage(t testing.TB, repo, repoURL, name, version string, extra map[string]string) (dir, sha string) {
	t.Helper()
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "main": "index.js", "license": "MIT",
		"repository": map[string]string{"type": "git", "url": "git+" + repoURL + ".git"}})
	files := map[string]string{"package.json": string(pj), "index.js": "module.exports = () => 'hello, provenance'\n", "README.md": "# " + name + "\n"}
	for k, v := range extra {
		files[k] = v
	}
	c, err := gitforge.CreateRepo(filepath.Join(s.Info.DataDir, "forge"), repo, files)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for p, content := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u, _ := url.Parse(s.Info.RegistryURL)
	npmrc := "//" + u.Host + "/:_authToken=${NODE_AUTH_TOKEN}\n"
	if err := os.WriteFile(filepath.Join(dir, ".npmrc"), []byte(npmrc), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, c.SHA
}

// setJobEnv makes the simulated job's environment the process environment,
// as on a CI runner.
func setJobEnv(t *testing.T, env map[string]string) {
	for _, k := range []string{"GITHUB_ACTIONS", "GITLAB_CI", "CI", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
		"SIGSTORE_ID_TOKEN", "NODE_AUTH_TOKEN", "NPM_TOKEN", "npm_config_registry", "NPM_CONFIG_USERCONFIG", "npm_config_userconfig",
		"PROVENANT_FULCIO_URL", "PROVENANT_REKOR_URL", "PROVENANT_SIGNING_CONFIG", "PROVENANT_TRUSTED_ROOT", "GITHUB_STEP_SUMMARY"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func npmEnv(t testing.TB) []string {
	home := t.TempDir()
	rc := filepath.Join(home, ".npmrc")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "npm_config_userconfig=" + rc, "npm_config_cache=" + filepath.Join(home, "cache"),
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false"}
	return env
}

// TestEndToEnd publishes with `provenant publish --provenance` from a
// simulated GitHub Actions job and a simulated GitLab CI job to the real
// registry, which verifies the bundle; then the real npm CLI installs the
// package, and the installed tarball's integrity, the registry signature
// over it and the provenance bundle all check out.
func TestEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not on PATH")
	}
	s := startStack(t)
	for _, tc := range []struct {
		name, repo, repoURL, pkg string
		spec                     oidc.JobSpec
	}{
		{"github", "acme/hello-provenance", "https://github.com/acme/hello-provenance", "@acme/hello-provenance",
			oidc.JobSpec{Platform: oidc.GitHubActions, Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"}},
		{"gitlab", "acme/hello-gitlab", "https://gitlab.com/acme/hello-gitlab", "hello-gitlab-provenance",
			oidc.JobSpec{Platform: oidc.GitLabCI, Ref: "refs/heads/main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, sha := s.commitPackage(t, tc.repo, tc.repoURL, tc.pkg, "1.0.0", nil)
			spec := tc.spec
			spec.Repository, spec.SHA = tc.repo, sha
			env := s.jobEnv(t, spec)
			env["NODE_AUTH_TOKEN"] = s.token
			summary := filepath.Join(t.TempDir(), "summary.md")
			if tc.name == "github" {
				env["GITHUB_STEP_SUMMARY"] = summary
			}
			env["HOME"] = t.TempDir()
			setJobEnv(t, env)

			var stdout, stderr bytes.Buffer
			code := cli.Run(context.Background(), []string{"publish", dir, "--provenance", "--registry", s.Info.RegistryURL,
				"--signing-config", s.Info.SigningConfig, "--trusted-root", s.Info.TrustedRoot, "--json"}, &stdout, &stderr)
			if code != 0 {
				t.Fatalf("provenant publish exited %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
			}
			var res struct {
				Package struct {
					Integrity string `json:"integrity"`
				} `json:"package"`
				Provenance struct {
					LogIndex     int64  `json:"logIndex"`
					EntryURL     string `json:"entryUrl"`
					SelfVerified bool   `json:"selfVerified"`
				} `json:"provenance"`
				Published struct {
					PackageURL string `json:"packageUrl"`
					PageURL    string `json:"pageUrl"`
				} `json:"published"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("--json output: %v\n%s", err, stdout.String())
			}
			if !res.Provenance.SelfVerified || res.Provenance.EntryURL == "" || res.Published.PackageURL == "" ||
				res.Published.PageURL != s.Info.RegistryURL+"/"+tc.pkg+"/1.0.0" {
				t.Errorf("result: %s", stdout.String())
			}
			if tc.name == "github" {
				md, err := os.ReadFile(summary)
				if err != nil || !bytes.Contains(md, []byte(sha)) || !bytes.Contains(md, []byte(res.Package.Integrity)) {
					t.Errorf("GITHUB_STEP_SUMMARY: %v\n%s", err, md)
				}
			}

			// The real npm CLI installs it.
			proj := t.TempDir()
			if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"consumer","version":"0.0.0","private":true}`), 0o644); err != nil {
				t.Fatal(err)
			}
			npmenv := npmEnv(t)
			run := func(args ...string) []byte {
				cmd := exec.Command("npm", args...)
				cmd.Dir, cmd.Env = proj, npmenv
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			t0 := time.Now()
			run("install", tc.pkg+"@1.0.0", "--registry", s.Info.RegistryURL+"/")
			t.Logf("npm install took %v", time.Since(t0))
			var lock struct {
				Packages map[string]struct {
					Version   string `json:"version"`
					Integrity string `json:"integrity"`
					Resolved  string `json:"resolved"`
				} `json:"packages"`
			}
			lb, err := os.ReadFile(filepath.Join(proj, "package-lock.json"))
			if err != nil || json.Unmarshal(lb, &lock) != nil {
				t.Fatalf("package-lock.json: %v", err)
			}
			entry := lock.Packages["node_modules/"+tc.pkg]
			if entry.Version != "1.0.0" || entry.Integrity != res.Package.Integrity {
				t.Fatalf("installed %+v, published integrity %s", entry, res.Package.Integrity)
			}
			installed, err := os.ReadFile(filepath.Join(proj, "node_modules", filepath.FromSlash(tc.pkg), "index.js"))
			if err != nil || !strings.Contains(string(installed), "hello, provenance") {
				t.Fatalf("installed index.js: %v %q", err, installed)
			}
			// The tarball the registry serves hashes to the integrity.
			tgz := get(t, entry.Resolved)
			sum := sha512.Sum512(tgz)
			if "sha512-"+base64.StdEncoding.EncodeToString(sum[:]) != res.Package.Integrity {
				t.Fatal("served tarball does not match the published integrity")
			}
			// `npm audit signatures` would fetch public-good Sigstore's TUF
			// root from the internet first, so the registry signature is
			// checked here the way it checks it.
			checkRegistrySignature(t, s.Info.RegistryURL, tc.pkg, res.Package.Integrity)
			checkProvenance(t, s, tc.pkg, tgz, sha)
		})
	}
}

func get(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// checkRegistrySignature verifies dist.signatures over
// "name@version:integrity" with the key from /-/npm/v1/keys.
func checkRegistrySignature(t *testing.T, registry, name, integrity string) {
	t.Helper()
	var keys npmwire.KeysResponse
	if err := json.Unmarshal(get(t, registry+"/-/npm/v1/keys"), &keys); err != nil || len(keys.Keys) == 0 {
		t.Fatalf("keys: %v", err)
	}
	der, _ := base64.StdEncoding.DecodeString(keys.Keys[0].Key)
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	var p npmwire.Packument
	if err := json.Unmarshal(get(t, registry+"/"+npmwire.EscapeName(name)), &p); err != nil {
		t.Fatal(err)
	}
	var vm npmwire.VersionManifest
	if err := json.Unmarshal(p.Versions["1.0.0"], &vm); err != nil || len(vm.Dist.Signatures) == 0 {
		t.Fatalf("no dist.signatures: %v", err)
	}
	sig, _ := base64.StdEncoding.DecodeString(vm.Dist.Signatures[0].Sig)
	digest := sha256.Sum256([]byte(name + "@1.0.0:" + integrity))
	if vm.Dist.Integrity != integrity || !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatal("registry signature does not verify")
	}
}

// checkProvenance fetches the stored bundle and verifies it with
// sigstore-go against the trust services' root.
func checkProvenance(t *testing.T, s *stack, name string, tgz []byte, sha string) {
	t.Helper()
	var att npmwire.AttestationsResponse
	if err := json.Unmarshal(get(t, s.Info.RegistryURL+"/-/provenant/v1/attestations/"+npmwire.EscapeName(name)+"@1.0.0"), &att); err != nil {
		t.Fatal(err)
	}
	var bundle json.RawMessage
	for _, a := range att.Attestations {
		if a.PredicateType != npmwire.PredicatePublishV01 {
			bundle = a.Bundle
		}
	}
	if bundle == nil {
		t.Fatal("no provenance attestation served")
	}
	tr, err := root.NewTrustedRootFromPath(s.Info.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.VerifyBundle(bundle, tr); err != nil {
		t.Fatalf("served bundle does not verify: %v", err)
	}
	payload := dssePayload(t, bundle)
	sum, err := provenance.ParseStatement(payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := provenance.CheckSubject(sum, name, "1.0.0", tgz); err != nil || sum.SourceCommit != sha {
		t.Fatalf("statement: %v, commit %s", err, sum.SourceCommit)
	}
}

func dssePayload(t *testing.T, bundle []byte) []byte {
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	p, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// logSize reads the transparency log's tree size from its Rekor v1 API.
func (s *stack) logSize(t testing.TB) int64 {
	t.Helper()
	var info struct {
		TreeSize int64 `json:"treeSize"`
	}
	if err := json.Unmarshal(get(t, s.Info.TrustURL+"/api/v1/log"), &info); err != nil {
		t.Fatal(err)
	}
	return info.TreeSize
}

// TestEndToEndFailures runs failing publishes against the real registry:
// pre-flight failures exit 3 and leave the log untouched; a bundle the
// registry rejects (its commit is not in the repository) exits 5 with the
// registry's own message; a plain publish without provenance succeeds.
func TestEndToEndFailures(t *testing.T) {
	s := startStack(t)
	dir, sha := s.commitPackage(t, "acme/fail", "https://github.com/acme/fail", "fail-pkg", "1.0.0", nil)
	spec := oidc.JobSpec{Repository: "acme/fail", SHA: sha, Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"}
	publish := func(t *testing.T, env map[string]string, args ...string) (int, string) {
		env["HOME"] = t.TempDir()
		setJobEnv(t, env)
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), append([]string{"publish", dir, "--registry", s.Info.RegistryURL,
			"--signing-config", s.Info.SigningConfig, "--retries", "0"}, args...), &out, &errOut)
		return code, out.String() + errOut.String()
	}
	env := func() map[string]string {
		e := s.jobEnv(t, spec)
		e["NODE_AUTH_TOKEN"] = s.token
		return e
	}

	if code, out := publish(t, env(), "--provenance"); code != 0 {
		t.Fatalf("first publish: %d\n%s", code, out)
	}
	for _, tc := range []struct {
		name string
		env  func() map[string]string
		want string
	}{
		{"same version again", env, "cannot publish over the previously published versions: 1.0.0"},
		{"token rejected", func() map[string]string { e := env(); e["NODE_AUTH_TOKEN"] = "npm_wrong"; return e }, "the registry rejected the token"},
		{"no id-token permission", func() map[string]string {
			e := env()
			delete(e, "ACTIONS_ID_TOKEN_REQUEST_URL")
			return e
		}, "id-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.logSize(t)
			code, out := publish(t, tc.env(), "--provenance")
			if code != 3 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want 3 with %q:\n%s", code, tc.want, out)
			}
			if after := s.logSize(t); after != before {
				t.Fatalf("log grew from %d to %d", before, after)
			}
		})
	}

	t.Run("registry rejects the bundle", func(t *testing.T) {
		rewrite := func(v string) {
			pj, _ := json.Marshal(map[string]any{"name": "fail-pkg", "version": v,
				"repository": map[string]string{"type": "git", "url": "git+https://github.com/acme/fail.git"}})
			if err := os.WriteFile(filepath.Join(dir, "package.json"), pj, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rewrite("1.0.1")
		bad := spec
		bad.SHA = strings.Repeat("ab", 20) // not a commit of the repository
		e := s.jobEnv(t, bad)
		e["NODE_AUTH_TOKEN"] = s.token
		code, out := publish(t, e, "--provenance")
		if code != 5 || !strings.Contains(out, "422") || !strings.Contains(out, "PUT "+s.Info.RegistryURL) {
			t.Fatalf("exit %d, want 5 with the registry's 422:\n%s", code, out)
		}
	})

	t.Run("plain publish", func(t *testing.T) {
		code, out := publish(t, map[string]string{"NODE_AUTH_TOKEN": s.token}, "--tag", "next")
		if code != 0 || !strings.Contains(out, "+ fail-pkg@1.0.1") {
			t.Fatalf("plain publish: exit %d\n%s", code, out)
		}
	})
}
