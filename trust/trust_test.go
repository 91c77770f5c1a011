package trust_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/proto"

	"github.com/provenant/provenant/trust"
	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestGitHubJobProductionPath runs the token flow a publisher runs in
// GitHub Actions: read ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN from the job
// environment, GET "<url>&audience=sigstore" with the bearer token, sign.
func TestGitHubJobProductionPath(t *testing.T) {
	env := trusttest.Start(t)
	jobEnv := env.JobEnv(t, githubJob())
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_ID", "GITHUB_REPOSITORY_OWNER_ID", "GITHUB_SHA", "GITHUB_REF", "GITHUB_WORKFLOW_REF", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_SERVER_URL", "GITHUB_EVENT_NAME", "RUNNER_ENVIRONMENT", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"} {
		if jobEnv[k] == "" {
			t.Errorf("job env lacks %s", k)
		}
	}
	if got := jobEnv["GITHUB_WORKFLOW_REF"]; got != "octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0" {
		t.Errorf("GITHUB_WORKFLOW_REF = %q", got)
	}
	req, _ := http.NewRequest(http.MethodGet, jobEnv["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=sigstore", nil)
	req.Header.Set("Authorization", "Bearer "+jobEnv["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token request: %s %v", resp.Status, err)
	}
	resp.Body.Close()
	pb, err := signDSSE(t, env, tok.Value, statement("pkg:npm/octo-pkg@1.0.0"), env.TrustedRoot)
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	b, err := loadBundle(roundTrip(t, pb))
	if err != nil {
		t.Fatal(err)
	}
	ext := certificate.Extensions{
		SourceRepositoryURI:             "https://github.com/octo-org/octo-pkg",
		SourceRepositoryIdentifier:      jobEnv["GITHUB_REPOSITORY_ID"],
		SourceRepositoryOwnerIdentifier: jobEnv["GITHUB_REPOSITORY_OWNER_ID"],
		RunInvocationURI:                "https://github.com/octo-org/octo-pkg/actions/runs/" + jobEnv["GITHUB_RUN_ID"] + "/attempts/1",
	}
	if _, err := verifier(t, env.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, ext))); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestGitLabJob signs with the SIGSTORE_ID_TOKEN of a simulated GitLab job
// and verifies against GitLab-shaped extensions.
func TestGitLabJob(t *testing.T) {
	env := trusttest.Start(t)
	jobEnv := env.JobEnv(t, oidc.JobSpec{Platform: oidc.GitLabCI, Repository: "octo-group/sub/octo-pkg", SHA: testSHA, Ref: "refs/heads/main"})
	if jobEnv["CI_PROJECT_PATH"] != "octo-group/sub/octo-pkg" || jobEnv["SIGSTORE_ID_TOKEN"] == "" || jobEnv["GITLAB_CI"] != "true" {
		t.Fatalf("gitlab env = %v", jobEnv)
	}
	pb, err := signDSSE(t, env, jobEnv["SIGSTORE_ID_TOKEN"], statement("pkg:npm/octo-pkg@1.0.0"), env.TrustedRoot)
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	b, err := loadBundle(roundTrip(t, pb))
	if err != nil {
		t.Fatal(err)
	}
	san, _ := verify.NewSANMatcher("https://gitlab.com/octo-group/sub/octo-pkg//.gitlab-ci.yml@refs/heads/main", "")
	iss, _ := verify.NewIssuerMatcher(env.BaseURL+oidc.GitLabPath, "")
	id, err := verify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI:      "https://gitlab.com/octo-group/sub/octo-pkg",
		SourceRepositoryOwnerURI: "https://gitlab.com/octo-group/sub",
		SourceRepositoryRef:      "refs/heads/main",
		BuildConfigURI:           "https://gitlab.com/octo-group/sub/octo-pkg//.gitlab-ci.yml@refs/heads/main",
		RunnerEnvironment:        "gitlab-hosted",
		RunInvocationURI:         jobEnv["CI_JOB_URL"],
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, env.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), verify.WithCertificateIdentity(id))); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

// TestMangledBundlesFail flips one byte of each verified part of a bundle.
func TestMangledBundlesFail(t *testing.T) {
	env := trusttest.Start(t)
	token := env.IDToken(t, githubJob())
	// A first entry, so that the second has a non-empty inclusion proof.
	if _, err := signDSSE(t, env, token, statement("pkg:npm/octo-pkg@0.9.0"), nil); err != nil {
		t.Fatal(err)
	}
	good, err := signDSSE(t, env, token, statement("pkg:npm/octo-pkg@1.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, certificate.Extensions{SourceRepositoryURI: "https://github.com/octo-org/octo-pkg"}))
	check := func(pb *protobundle.Bundle) error {
		b, err := loadBundle(roundTrip(t, pb))
		if err != nil {
			return err
		}
		_, err = verifier(t, env.TrustedRoot).Verify(b, policy)
		return err
	}
	if err := check(good); err != nil {
		t.Fatalf("unmangled bundle: %v", err)
	}
	if len(good.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof().GetHashes()) == 0 {
		t.Fatal("want a non-empty inclusion proof")
	}
	flip := func(b []byte, i int) { b[i%len(b)] ^= 0x01 }
	cases := []struct {
		name   string
		mangle func(pb *protobundle.Bundle, i int)
	}{
		{"signature", func(pb *protobundle.Bundle, i int) { flip(pb.GetDsseEnvelope().Signatures[0].Sig, i) }},
		{"payload", func(pb *protobundle.Bundle, i int) { flip(pb.GetDsseEnvelope().Payload, i) }},
		{"certificate", func(pb *protobundle.Bundle, i int) {
			flip(pb.VerificationMaterial.GetCertificate().RawBytes, i)
		}},
		{"SET", func(pb *protobundle.Bundle, i int) {
			flip(pb.VerificationMaterial.TlogEntries[0].InclusionPromise.SignedEntryTimestamp, i)
		}},
		{"inclusion proof hash", func(pb *protobundle.Bundle, i int) {
			flip(pb.VerificationMaterial.TlogEntries[0].InclusionProof.Hashes[0], i)
		}},
		{"inclusion proof root", func(pb *protobundle.Bundle, i int) {
			flip(pb.VerificationMaterial.TlogEntries[0].InclusionProof.RootHash, i)
		}},
		{"checkpoint", func(pb *protobundle.Bundle, i int) {
			cp := []byte(pb.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint.Envelope)
			flip(cp, i)
			pb.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint.Envelope = string(cp)
		}},
		{"canonical body", func(pb *protobundle.Bundle, i int) {
			flip(pb.VerificationMaterial.TlogEntries[0].CanonicalizedBody, i)
		}},
		{"integrated time", func(pb *protobundle.Bundle, i int) {
			pb.VerificationMaterial.TlogEntries[0].IntegratedTime += int64(1 + i%3)
		}},
		{"log index", func(pb *protobundle.Bundle, i int) {
			pb.VerificationMaterial.TlogEntries[0].LogIndex ^= 1
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Several positions per part: the start, the middle, the end.
			for _, pos := range []int{0, 7, 31, 64, 101, 257, 1001, -1} {
				pb := proto.Clone(good).(*protobundle.Bundle)
				i := pos
				if i < 0 {
					i = 1 << 20 // i%len hits some late byte
				}
				c.mangle(pb, i)
				if proto.Equal(pb, good) {
					continue
				}
				if err := check(pb); err == nil {
					t.Errorf("flip at %d: verification passed", pos)
				}
			}
		})
	}
}

// TestRestartKeepsKeysAndLog appends, restarts with the same data
// directory, appends again, and checks the consistency proof between the
// two checkpoints and that the first bundle still verifies.
func TestRestartKeepsKeysAndLog(t *testing.T) {
	dir := t.TempDir()
	env := trusttest.StartIn(t, dir)
	first, err := signDSSE(t, env, env.IDToken(t, githubJob()), statement("pkg:npm/octo-pkg@1.0.0"), env.TrustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var head1 struct {
		RootHash       string `json:"rootHash"`
		TreeSize       uint64 `json:"treeSize"`
		SignedTreeHead string `json:"signedTreeHead"`
	}
	getJSON(t, env.BaseURL+"/api/v1/log", &head1)
	root1, _ := os.ReadFile(filepath.Join(dir, "ca", "root.pem"))
	logID1 := env.Services.Log().LogID()
	env.Stop()

	env2 := trusttest.StartIn(t, dir)
	root2, _ := os.ReadFile(filepath.Join(dir, "ca", "root.pem"))
	if string(root1) != string(root2) || hex.EncodeToString(logID1) != hex.EncodeToString(env2.Services.Log().LogID()) {
		t.Fatal("restart changed the CA root or the log key")
	}
	if _, err := signDSSE(t, env2, env2.IDToken(t, githubJob()), statement("pkg:npm/octo-pkg@1.0.1"), env2.TrustedRoot); err != nil {
		t.Fatal(err)
	}
	var head2 struct {
		RootHash       string `json:"rootHash"`
		TreeSize       uint64 `json:"treeSize"`
		SignedTreeHead string `json:"signedTreeHead"`
	}
	getJSON(t, env2.BaseURL+"/api/v1/log", &head2)
	if head2.TreeSize != head1.TreeSize+1 {
		t.Fatalf("tree size %d → %d, want +1", head1.TreeSize, head2.TreeSize)
	}
	// Both checkpoints verify with the (same) log key.
	v, err := signature.LoadVerifier(env2.Services.Log().PublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range []string{head1.SignedTreeHead, head2.SignedTreeHead} {
		var sth util.SignedCheckpoint
		if err := sth.UnmarshalText([]byte(cp)); err != nil || !sth.Verify(v) {
			t.Fatalf("checkpoint %q does not verify: %v", cp, err)
		}
	}
	var cons struct {
		RootHash string   `json:"rootHash"`
		Hashes   []string `json:"hashes"`
	}
	getJSON(t, env2.BaseURL+"/api/v1/log/proof?firstSize=1&lastSize=2", &cons)
	hashes := make([][]byte, len(cons.Hashes))
	for i, h := range cons.Hashes {
		hashes[i], _ = hex.DecodeString(h)
	}
	r1, _ := hex.DecodeString(head1.RootHash)
	r2, _ := hex.DecodeString(head2.RootHash)
	if cons.RootHash != head2.RootHash {
		t.Errorf("proof root %s, head root %s", cons.RootHash, head2.RootHash)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, head1.TreeSize, head2.TreeSize, hashes, r1, r2); err != nil {
		t.Fatalf("consistency proof: %v", err)
	}
	// A forged old root must fail the same proof.
	r1[0] ^= 1
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, head1.TreeSize, head2.TreeSize, hashes, r1, r2); err == nil {
		t.Fatal("consistency proof verified a forged root")
	}
	// The first bundle verifies against the restarted services' root.
	b, err := loadBundle(roundTrip(t, first))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, env2.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, certificate.Extensions{}))); err != nil {
		t.Fatalf("first bundle after restart: %v", err)
	}
}

// TestTrustFilesServedAndWritten checks the trusted root and signing config
// on disk and over HTTP.
func TestTrustFilesServedAndWritten(t *testing.T) {
	env := trusttest.Start(t)
	for _, f := range []string{trust.TrustedRootFile, trust.SigningConfigFile} {
		disk, err := os.ReadFile(filepath.Join(env.DataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(env.BaseURL + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		served, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(served) != string(disk) {
			t.Errorf("%s: served and written differ", f)
		}
	}
	tr, err := root.NewTrustedRootFromJSON(env.Services.TrustedRootJSON())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.CTLogs()) != 0 || strings.Contains(string(env.Services.TrustedRootJSON()), "ctlogs") {
		t.Error("trusted root lists a CT log; the CA has none")
	}
	if !strings.Contains(string(env.Services.TrustedRootJSON()), "no certificate transparency log") {
		t.Error("trusted root does not say that there is no CT log")
	}
	logs := tr.RekorLogs()
	if len(logs) != 1 || logs[hex.EncodeToString(env.Services.Log().LogID())] == nil {
		t.Errorf("rekor logs = %v", logs)
	}
	sc, err := root.NewSigningConfigFromJSON(env.Services.SigningConfigJSON())
	if err != nil {
		t.Fatal(err)
	}
	if u := sc.FulcioCertificateAuthorityURLs(); len(u) != 1 || u[0].URL != env.BaseURL {
		t.Errorf("CA URLs = %+v", u)
	}
	if u := sc.RekorLogURLs(); len(u) != 1 || u[0].URL != env.BaseURL || u[0].MajorAPIVersion != 1 {
		t.Errorf("log URLs = %+v", u)
	}
	if !strings.Contains(string(env.Services.TrustedRootJSON()), `"validFor"`) {
		t.Error("trusted root lacks validFor")
	}
	_ = context.Background()
}

func TestDataDirIsExclusive(t *testing.T) {
	env := trusttest.Start(t)
	_, err := trust.Open(context.Background(), trust.Config{DataDir: env.DataDir, BaseURL: "http://127.0.0.1:1"})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	env.Stop()
	s, err := trust.Open(context.Background(), trust.Config{DataDir: env.DataDir, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, c := range []trust.Config{
		{DataDir: "", BaseURL: "http://127.0.0.1:1"},
		{DataDir: t.TempDir(), BaseURL: "127.0.0.1:1"},
		{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:1/sub?x=1"},
		{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:1", Issuers: []string{"https://accounts.google.com"}},
	} {
		if s, err := trust.Open(context.Background(), c); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", c)
		}
	}
}

// TestMountedUnderPrefix serves the services under /trust on a shared
// server, as a registry binary would, and signs and verifies through it.
func TestMountedUnderPrefix(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := trust.Open(context.Background(), trust.Config{DataDir: t.TempDir(), BaseURL: srv.URL + "/trust/"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux.Handle("/trust/", http.StripPrefix("/trust", s.Handler()))
	tr, err := root.NewTrustedRootFromJSON(s.TrustedRootJSON())
	if err != nil {
		t.Fatal(err)
	}
	env := &trusttest.Env{BaseURL: s.BaseURL(), Services: s, TrustedRoot: tr}
	if env.BaseURL != srv.URL+"/trust" {
		t.Fatalf("BaseURL = %s", env.BaseURL)
	}
	token := env.IDToken(t, githubJob())
	stmt := statement("pkg:npm/octo-pkg@1.0.0")
	pb, err := signDSSE(t, env, token, stmt, tr)
	if err != nil {
		t.Fatalf("sign.Bundle under a prefix: %v", err)
	}
	// A second identical submission goes the 409 + Location path.
	req := fmt.Sprintf(`{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{"envelope":%q,"verifiers":[%q]}}}`,
		mustEnvelopeJSON(t, pb), base64.StdEncoding.EncodeToString(pemCert(pb)))
	resp, err := http.Post(env.BaseURL+"/api/v1/log/entries", "application/json", strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.HasPrefix(resp.Header.Get("Location"), "/trust/api/v1/log/entries/") {
		t.Fatalf("duplicate: %s Location=%q", resp.Status, resp.Header.Get("Location"))
	}
	loc, err := http.Get(srv.URL + resp.Header.Get("Location"))
	if err != nil || loc.StatusCode != http.StatusOK {
		t.Fatalf("GET Location: %v %v", err, loc)
	}
	loc.Body.Close()
}

func mustEnvelopeJSON(t testing.TB, pb *protobundle.Bundle) string {
	t.Helper()
	env := pb.GetDsseEnvelope()
	raw, err := json.Marshal(map[string]any{"payload": env.Payload, "payloadType": env.PayloadType, "signatures": []any{map[string]any{"sig": env.Signatures[0].Sig}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func pemCert(pb *protobundle.Bundle) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pb.GetVerificationMaterial().GetCertificate().GetRawBytes()})
}

// TestExtraIssuer trusts a second, external OIDC issuer (found by
// discovery over HTTP, as token.actions.githubusercontent.com would be) and
// signs with its token.
func TestExtraIssuer(t *testing.T) {
	var h http.Handler = http.NotFoundHandler()
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer ext.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	extIssuer, err := oidc.New(ext.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	h = extIssuer.Handler()

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s, err := trust.Open(context.Background(), trust.Config{DataDir: t.TempDir(), BaseURL: srv.URL, Issuers: []string{"github=" + ext.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux.Handle("/", s.Handler())
	tr, _ := root.NewTrustedRootFromJSON(s.TrustedRootJSON())
	env := &trusttest.Env{BaseURL: srv.URL, Services: s, TrustedRoot: tr}
	tok, err := extIssuer.Mint(githubJob(), "sigstore")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := signDSSE(t, env, tok, statement("pkg:npm/octo-pkg@1.0.0"), tr)
	if err != nil {
		t.Fatalf("sign with the external issuer's token: %v", err)
	}
	b, _ := loadBundle(roundTrip(t, pb))
	if _, err := verifier(t, tr).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, ext.URL, certificate.Extensions{SourceRepositoryURI: "https://github.com/octo-org/octo-pkg"}))); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// The embedded issuer's identity does not match the external one's.
	if _, err := verifier(t, tr).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, srv.URL, certificate.Extensions{}))); err == nil {
		t.Fatal("a policy on the embedded issuer accepted the external issuer's certificate")
	}
	var conf struct {
		Issuers []struct {
			IssuerURL string `json:"issuerUrl"`
		} `json:"issuers"`
	}
	getJSON(t, srv.URL+"/api/v2/configuration", &conf)
	if len(conf.Issuers) != 3 || conf.Issuers[2].IssuerURL != ext.URL {
		t.Errorf("configuration = %+v", conf)
	}
}
