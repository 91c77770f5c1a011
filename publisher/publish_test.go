package publisher

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/publisher/pack"
	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

const testToken = "npm_test_token"

var ghSpec = oidc.JobSpec{
	Platform:   oidc.GitHubActions,
	Repository: "acme/hello-provenance",
	SHA:        "0123456789abcdef0123456789abcdef01234567",
	Ref:        "refs/heads/main",
	Workflow:   ".github/workflows/release.yml",
}

var glSpec = oidc.JobSpec{
	Platform:   oidc.GitLabCI,
	Repository: "acme/hello-provenance",
	SHA:        "89abcdef0123456789abcdef0123456789abcdef",
	Ref:        "refs/heads/main",
}

// writePackage writes a small package folder and returns its path.
func writePackage(t *testing.T, name, version string, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	pj := map[string]any{"name": name, "version": version, "description": "test <package>", "main": "index.js",
		"repository": map[string]string{"type": "git", "url": "git+https://github.com/acme/hello-provenance.git"}}
	for k, v := range extra {
		pj[k] = json.RawMessage(v)
	}
	b, _ := json.Marshal(pj)
	files := map[string]string{"package.json": string(b), "index.js": "module.exports = 'hello'\n", "README.md": "# hello\n"}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func envFunc(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func treeSize(t *testing.T, e *trusttest.Env) uint64 {
	t.Helper()
	size, _, _, err := e.Services.Log().Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return size
}

func baseOptions(e *trusttest.Env, reg *fakeRegistry, dir string, env map[string]string) Options {
	return Options{
		Path:          dir,
		Registry:      reg.URL(),
		Provenance:    true,
		SigningConfig: e.Services.SigningConfigJSON(),
		TrustedRoot:   e.Services.TrustedRootJSON(),
		Getenv:        envFunc(env),
		Timeout:       20 * time.Second,
		Backoff:       time.Millisecond,
	}
}

// checkPublishedBody asserts the PUT has npm's exact shape and returns
// the decoded tarball and bundle.
func checkPublishedBody(t *testing.T, put recordedPut, name, version string) (tarball, bundle []byte) {
	t.Helper()
	if want := "/" + strings.Replace(name, "/", "%2f", 1); put.path != want {
		t.Errorf("PUT path = %s, want %s", put.path, want)
	}
	if got := put.header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if got := put.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(put.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"_id", "name", "dist-tags", "versions", "access", "_attachments"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("publish body has no %q", k)
		}
	}
	b, err := npmwire.ParsePublishBody(put.body)
	if err != nil {
		t.Fatal(err)
	}
	tarball, err = b.Tarball(version, 1<<26)
	if err != nil {
		t.Fatal(err)
	}
	tgz := b.Attachments[npmwire.TarballAttachmentName(name, version)]
	if tgz.ContentType != "application/octet-stream" || tgz.Length != int64(len(tarball)) {
		t.Errorf("tarball attachment = %q, length %d", tgz.ContentType, tgz.Length)
	}
	var vm npmwire.VersionManifest
	_, m := b.Version()
	if err := json.Unmarshal(m, &vm); err != nil {
		t.Fatal(err)
	}
	if vm.ID != name+"@"+version || vm.Dist.Integrity != integrityOf(tarball) || vm.Dist.Shasum == "" {
		t.Errorf("version manifest _id=%q dist=%+v", vm.ID, vm.Dist)
	}
	var readme struct {
		Readme         string `json:"readme"`
		ReadmeFilename string `json:"readmeFilename"`
	}
	if err := json.Unmarshal(m, &readme); err != nil || readme.ReadmeFilename != "README.md" || readme.Readme != "# hello\n" {
		t.Errorf("readme = %+v", readme)
	}
	if !strings.HasSuffix(vm.Dist.Tarball, "/"+name+"/-/"+name+"-"+version+".tgz") {
		t.Errorf("dist.tarball = %s", vm.Dist.Tarball)
	}
	if sg, ok := b.Attachments[npmwire.BundleAttachmentName(name, version)]; ok {
		if sg.ContentType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
			t.Errorf(".sigstore content_type = %q", sg.ContentType)
		}
		if !json.Valid([]byte(sg.Data)) || sg.Length != int64(len(sg.Data)) || nonASCII(sg.Data) != "" {
			t.Errorf(".sigstore data is not a raw JSON string of its length: valid=%v len=%d length=%d %q", json.Valid([]byte(sg.Data)), len(sg.Data), sg.Length, nonASCII(sg.Data))
		}
		bundle = []byte(sg.Data)
	}
	return tarball, bundle
}

func integrityOf(b []byte) string {
	t := &pack.Tarball{}
	r, err := pack.Read(b)
	if err == nil {
		t = r
	}
	return t.Integrity
}

// TestPublishWithProvenance runs a simulated GitHub Actions job and a
// simulated GitLab job against the live trust services and a recording
// registry, then verifies the attached bundle with sigstore-go.
func TestPublishWithProvenance(t *testing.T) {
	e := trusttest.Start(t)
	for _, tc := range []struct {
		name  string
		spec  oidc.JobSpec
		pkg   string
		ci    string
		kind  string
		stype string
	}{
		{"github", ghSpec, "@acme/hello-provenance", "github-actions", "dsse", provenance.StatementV1Type},
		{"gitlab", glSpec, "hello-provenance-gl", "gitlab-ci", "dsse", "https://in-toto.io/Statement/v0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t, testToken)
			env := e.JobEnv(t, tc.spec)
			env["NODE_AUTH_TOKEN"] = testToken
			summary := filepath.Join(t.TempDir(), "summary.md")
			env["GITHUB_STEP_SUMMARY"] = summary
			dir := writePackage(t, tc.pkg, "1.0.0", nil)
			before := treeSize(t, e)
			var streamed []Step
			o := baseOptions(e, reg, dir, env)
			o.Progress = func(s Step) { streamed = append(streamed, s) }
			res, err := Publish(context.Background(), o)
			if err != nil {
				t.Fatalf("Publish: %v\nsteps: %+v", err, res.Steps)
			}
			if got := treeSize(t, e); got != before+1 {
				t.Errorf("log grew from %d to %d, want one entry", before, got)
			}
			if len(streamed) != len(res.Steps) {
				t.Errorf("progress saw %d steps, result has %d", len(streamed), len(res.Steps))
			}
			tarball, bundleJSON := checkPublishedBody(t, reg.lastPut(), tc.pkg, "1.0.0")
			if res.Package.Integrity != integrityOf(tarball) {
				t.Errorf("result integrity %s is not that of the bytes sent", res.Package.Integrity)
			}
			if bundleJSON == nil {
				t.Fatal("no .sigstore attachment")
			}
			if err := verifyBundle(bundleJSON, e.TrustedRoot); err != nil {
				t.Fatalf("bundle does not verify with sigstore-go: %v", err)
			}
			payload, _, err := statementFromBundle(bundleJSON)
			if err != nil {
				t.Fatal(err)
			}
			sum, err := provenance.ParseStatement(payload)
			if err != nil {
				t.Fatal(err)
			}
			if err := provenance.CheckSubject(sum, tc.pkg, "1.0.0", tarball); err != nil {
				t.Error(err)
			}
			if string(sum.CI) != tc.ci || sum.StatementType != tc.stype || sum.SourceCommit != tc.spec.SHA {
				t.Errorf("statement: ci=%s type=%s commit=%s", sum.CI, sum.StatementType, sum.SourceCommit)
			}
			p := res.Provenance
			if p == nil || !strings.Contains(p.CertificateSAN, tc.spec.Repository) || p.CertificateIssuer == "" ||
				p.EntryKind != "dsse 0.0.1" || p.EntryURL == "" || !p.SelfVerified || uint64(p.LogIndex) != before {
				t.Errorf("provenance info = %+v (log index want %d)", p, before)
			}
			if res.Published == nil || res.Published.PackageURL != reg.URL()+npmwire.EscapeName(tc.pkg) || res.Access != "public" {
				t.Errorf("published = %+v access=%q", res.Published, res.Access)
			}
			md := Markdown(res, nil)
			for _, want := range []string{tc.pkg, "1.0.0", res.Package.Integrity, tc.spec.SHA, "Log entry"} {
				if !strings.Contains(md, want) {
					t.Errorf("summary lacks %q:\n%s", want, md)
				}
			}
			var text strings.Builder
			_ = WriteText(&text, res, true)
			for _, want := range []string{"certificate issued", "logged at index", "published", "package:", "log entry:"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text output lacks %q:\n%s", want, text.String())
				}
			}
		})
	}
}

// TestPreflightFailuresLeaveNoLogEntry checks that every failure knowable
// in advance stops the publish before a certificate or log entry exists.
func TestPreflightFailuresLeaveNoLogEntry(t *testing.T) {
	e := trusttest.Start(t)
	for _, tc := range []struct {
		name   string
		mutate func(o *Options, env map[string]string, reg *fakeRegistry, dir string)
		step   string
		kind   error
		msg    string
	}{
		{"version exists", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			reg.addVersion("hello-preflight", "1.0.0")
		}, StepRegistry, ErrPreflight, "cannot publish over the previously published versions: 1.0.0"},
		{"lower than latest", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			reg.addVersion("hello-preflight", "2.0.0")
		}, StepRegistry, ErrPreflight, "Cannot implicitly apply the \"latest\" tag"},
		{"token rejected", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			env["NODE_AUTH_TOKEN"] = "wrong"
		}, StepWhoami, ErrPreflight, "rejected the token"},
		{"no token", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			delete(env, "NODE_AUTH_TOKEN")
		}, StepAuth, ErrPreflight, "ENEEDAUTH"},
		{"no id-token permission", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			delete(env, "ACTIONS_ID_TOKEN_REQUEST_URL")
			delete(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		}, StepCI, ErrPreflight, "id-token: write"},
		{"not CI", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			delete(env, "GITHUB_ACTIONS")
		}, StepCI, ErrPreflight, "not supported for provider"},
		{"incomplete CI env", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			delete(env, "GITHUB_SHA")
		}, StepStatement, ErrPreflight, "GITHUB_SHA"},
		{"private package", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			rewrite(t, dir, `{"name":"hello-preflight","version":"1.0.0","private":true}`)
		}, StepManifest, ErrPreflight, "EPRIVATE"},
		{"bad version", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			rewrite(t, dir, `{"name":"hello-preflight","version":"1.0"}`)
		}, StepManifest, ErrPreflight, "EBADSEMVER"},
		{"bad name", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			rewrite(t, dir, `{"name":"Hello Preflight","version":"1.0.0"}`)
		}, StepManifest, ErrPreflight, "invalid package name"},
		{"prerelease without tag", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			rewrite(t, dir, `{"name":"hello-preflight","version":"1.0.0-rc.1"}`)
		}, StepManifest, ErrPreflight, "--tag"},
		{"package.json not JSON", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			rewrite(t, dir, `{"name":`)
		}, StepPack, ErrPreflight, "package.json"},
		{"provenance and file", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			o.ProvenanceFile = "x.sigstore.json"
		}, StepOptions, ErrUsage, "--provenance-file can not be provided when using --provenance"},
		{"bad access", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			o.Access = "secret"
		}, StepOptions, ErrUsage, "--access"},
		{"registry down", func(o *Options, env map[string]string, reg *fakeRegistry, dir string) {
			o.Registry = "http://127.0.0.1:1/"
			o.Retries = -1
		}, StepRegistry, ErrPreflight, "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t, testToken)
			env := e.JobEnv(t, ghSpec)
			env["NODE_AUTH_TOKEN"] = testToken
			dir := writePackage(t, "hello-preflight", "1.0.0", nil)
			o := baseOptions(e, reg, dir, env)
			tc.mutate(&o, env, reg, dir)
			before := treeSize(t, e)
			res, err := Publish(context.Background(), o)
			if err == nil {
				t.Fatal("Publish succeeded")
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step != tc.step || !errors.Is(err, tc.kind) {
				t.Fatalf("error = %v (step %v), want step %s kind %v", err, se, tc.step, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
			if got := treeSize(t, e); got != before {
				t.Errorf("log grew from %d to %d", before, got)
			}
			if reg.putCount() != 0 {
				t.Errorf("a PUT was sent")
			}
			if res.Provenance != nil || res.Published != nil {
				t.Errorf("result claims provenance or publish: %+v", res)
			}
			if n := len(res.Steps); n == 0 || res.Steps[n-1].OK || res.Steps[n-1].Name != tc.step {
				t.Errorf("last step = %+v", res.Steps)
			}
			if a := Annotation(err); !strings.HasPrefix(a, "::error title=provenant publish%3A "+tc.step+"::") || strings.Contains(a, "\n") {
				t.Errorf("annotation = %q", a)
			}
		})
	}
}

func rewrite(t *testing.T, dir, packageJSON string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(packageJSON), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDryRun builds and reports the statement but signs, logs and sends nothing.
func TestDryRun(t *testing.T) {
	e := trusttest.Start(t)
	reg := newFakeRegistry(t, testToken)
	env := e.JobEnv(t, ghSpec)
	env["NODE_AUTH_TOKEN"] = testToken
	o := baseOptions(e, reg, writePackage(t, "hello-dry", "1.0.0", nil), env)
	o.DryRun = true
	before := treeSize(t, e)
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if treeSize(t, e) != before || reg.putCount() != 0 {
		t.Error("dry run logged or published")
	}
	out, _ := json.Marshal(res)
	var back struct {
		Statement json.RawMessage `json:"statement"`
		DryRun    bool            `json:"dryRun"`
	}
	if err := json.Unmarshal(out, &back); err != nil || !back.DryRun {
		t.Fatalf("json result: %v %s", err, out)
	}
	sum, err := provenance.ParseStatement(back.Statement)
	if err != nil {
		t.Fatalf("statement in --json output: %v", err)
	}
	if sum.Subjects[0].Name != "pkg:npm/hello-dry@1.0.0" || res.User != "ci-bot" {
		t.Errorf("subject %s, user %q", sum.Subjects[0].Name, res.User)
	}
	for _, r := range reg.reqs {
		if strings.HasPrefix(r, "PUT") {
			t.Errorf("dry run sent %s", r)
		}
	}
}

// TestProvenanceFile attaches a bundle made by an earlier publish, and
// refuses one whose subject names another package or digest.
func TestProvenanceFile(t *testing.T) {
	e := trusttest.Start(t)
	reg := newFakeRegistry(t, testToken)
	env := e.JobEnv(t, ghSpec)
	env["NODE_AUTH_TOKEN"] = testToken
	dir := writePackage(t, "hello-file", "1.0.0", nil)
	// Sign once to get a bundle, publishing to a throwaway registry.
	scratch := newFakeRegistry(t, testToken)
	res, err := Publish(context.Background(), baseOptions(e, scratch, dir, env))
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(t.TempDir(), "b.sigstore.json")
	if err := os.WriteFile(bundlePath, res.Bundle(), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := Options{Path: dir, Registry: reg.URL(), ProvenanceFile: bundlePath, TrustedRoot: e.Services.TrustedRootJSON(),
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond}
	before := treeSize(t, e)
	res2, err := Publish(context.Background(), plain)
	if err != nil {
		t.Fatalf("publish with --provenance-file: %v", err)
	}
	if treeSize(t, e) != before {
		t.Error("--provenance-file wrote a log entry")
	}
	_, attached := checkPublishedBody(t, reg.lastPut(), "hello-file", "1.0.0")
	if string(attached) != asciiJSON(res.Bundle()) || res2.Provenance.Source != "file" {
		t.Error("attached bundle differs from the file")
	}
	// Another version: the subject no longer matches.
	other := writePackage(t, "hello-file", "1.0.1", nil)
	plain.Path = other
	_, err = Publish(context.Background(), plain)
	var ce *provenance.CheckError
	if !errors.As(err, &ce) || ce.Check != "subject-name" || !errors.Is(err, ErrPreflight) {
		t.Fatalf("mismatched subject: %v", err)
	}
	// Not a bundle at all.
	if err := os.WriteFile(bundlePath, []byte(`{"mediaType":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	plain.Path = dir
	if _, err := Publish(context.Background(), plain); err == nil || !strings.Contains(err.Error(), "No dsseEnvelope with payload") {
		t.Fatalf("bundle without payload: %v", err)
	}
}

// TestPlainPublishAndRejection publishes without provenance, from a
// tarball made by the real npm when available, retries through 503s, and
// reports a registry rejection with the registry's own message.
func TestPlainPublishAndRejection(t *testing.T) {
	reg := newFakeRegistry(t, testToken)
	dir := writePackage(t, "@acme/plain", "1.2.3", nil)
	tb, err := pack.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(t.TempDir(), tb.Filename)
	if err := os.WriteFile(tgz, tb.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	reg.fail["GET /@acme%2fplain"] = 2
	reg.fail["PUT /@acme%2fplain"] = 1
	res, err := Publish(context.Background(), Options{Path: tgz, Registry: reg.URL(), Tag: "next",
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tarball, bundle := checkPublishedBody(t, reg.lastPut(), "@acme/plain", "1.2.3")
	if string(tarball) != string(tb.Bytes) || bundle != nil || !res.Package.FromTarball {
		t.Error("tarball bytes were not published as is, or a bundle was attached")
	}
	var body npmwire.PublishBody
	_ = json.Unmarshal(reg.lastPut().body, &body)
	if body.DistTags["next"] != "1.2.3" || body.Access != nil {
		t.Errorf("dist-tags %v access %v", body.DistTags, body.Access)
	}
	if base64.StdEncoding.EncodeToString(tb.Bytes) != body.Attachments["@acme/plain-1.2.3.tgz"].Data {
		t.Error("tarball attachment is not the base64 of the bytes")
	}

	reg.reject = "Error verifying sigstore provenance bundle: nope"
	_, err = Publish(context.Background(), Options{Path: writePackage(t, "@acme/plain", "1.2.4", nil), Registry: reg.URL(),
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond})
	var re *RegistryError
	if !errors.As(err, &re) || re.Status != 422 || re.Message != reg.reject || ExitCode(err) != ExitRegistry {
		t.Fatalf("rejection: %v", err)
	}
	if !strings.Contains(err.Error(), "422 Unprocessable Entity - PUT "+reg.URL()+"@acme%2fplain - Error verifying") {
		t.Errorf("rejection text: %v", err)
	}
}

// TestLostAnswer: the first PUT arrives but its answer is lost (502); the
// retry meets the registry's conflict, and the publisher confirms the
// stored version is its own instead of failing.
func TestLostAnswer(t *testing.T) {
	reg := newFakeRegistry(t, testToken)
	reg.lostAnswers = 1
	res, err := Publish(context.Background(), Options{Path: writePackage(t, "lost-answer", "1.0.0", nil), Registry: reg.URL(),
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if reg.putCount() != 2 || res.Published == nil {
		t.Errorf("%d PUTs, published %+v", reg.putCount(), res.Published)
	}
	// A lost answer with no retry left is reported, not guessed at.
	reg.lostAnswers = 1
	_, err = Publish(context.Background(), Options{Path: writePackage(t, "lost-answer", "1.0.1", nil), Registry: reg.URL(), Retries: -1,
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond})
	var re *RegistryError
	if !errors.As(err, &re) || re.Status != 502 || !errors.Is(err, ErrRegistry) {
		t.Fatalf("lost answer without retry: %v", err)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{stepErr(StepOptions, ErrUsage, errors.New("x")), ExitUsage},
		{stepErr(StepRegistry, ErrPreflight, errors.New("x")), ExitPreflight},
		{stepErr(StepCertificate, ErrSigning, errors.New("x")), ExitSigning},
		{stepErr(StepPublish, ErrRegistry, errors.New("x")), ExitRegistry},
		{errors.New("other"), ExitFailure},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func nonASCII(s string) string {
	for i, r := range s {
		if r > 127 {
			return s[max(0, i-40):min(len(s), i+40)]
		}
	}
	return ""
}

func TestTagNames(t *testing.T) {
	for _, tc := range []struct {
		tag string
		ok  bool
	}{
		{"latest", true}, {"next", true}, {"beta", true}, {"v2-legacy", true}, {"release-1.x", true},
		{"1.x", false}, {"^2.0.0", false}, {"x", false}, {"1.2.3", false}, {"has space", false}, {"a/b", false},
	} {
		r := &run{o: Options{Path: ".", Tag: tc.tag}}
		if err := r.checkOptions(); (err == nil) != tc.ok {
			t.Errorf("tag %q: err = %v, want ok=%v", tc.tag, err, tc.ok)
		}
	}
}
