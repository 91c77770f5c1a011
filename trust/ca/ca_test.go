package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/trust/ca"
	"github.com/provenant/provenant/trust/oidc"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

// fixture is an OIDC issuer served over HTTP (discovered by go-oidc) and a
// CA trusting it.
type fixture struct {
	issuer    *oidc.Issuer
	issuerKey *ecdsa.PrivateKey
	issuerURL string
	ca        *ca.CA
	keys      *ca.Keys
	caURL     string
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	var h http.Handler = http.NotFoundHandler()
	isrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(isrv.Close)
	f.issuerURL = isrv.URL
	var err error
	f.issuerKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if f.issuer, err = oidc.New(isrv.URL, f.issuerKey); err != nil {
		t.Fatal(err)
	}
	h = f.issuer.Handler()
	if f.keys, err = ca.LoadOrCreateKeys(t.TempDir(), time.Now()); err != nil {
		t.Fatal(err)
	}
	// Both issuers go through OIDC discovery over HTTP, the path real
	// issuers such as token.actions.githubusercontent.com take.
	f.ca, err = ca.New(ca.Config{Keys: f.keys, Issuers: []ca.Issuer{
		{URL: f.issuer.GitHubIssuerURL(), Kind: ca.GitHubWorkflow},
		{URL: f.issuer.GitLabIssuerURL(), Kind: ca.GitLabPipeline},
	}})
	if err != nil {
		t.Fatal(err)
	}
	csrv := httptest.NewServer(f.ca.Handler())
	t.Cleanup(csrv.Close)
	f.caURL = csrv.URL
	return f
}

func job() oidc.JobSpec {
	return oidc.JobSpec{Repository: "octo-org/octo-pkg", SHA: sha, Ref: "refs/tags/v1.0.0", Workflow: ".github/workflows/release.yml", RunID: "42"}
}

// token signs arbitrary claims with key, for tokens the issuer would not mint.
func token(t testing.TB, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claimsOf decodes a token's claims without verification.
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubPEM(t testing.TB, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func proof(t testing.TB, k *ecdsa.PrivateKey, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func body(pubPEM, proof string) []byte {
	b, _ := json.Marshal(map[string]any{"publicKeyRequest": map[string]any{"publicKey": map[string]any{"algorithm": "ECDSA", "content": pubPEM}, "proofOfPossession": proof}})
	return b
}

func post(t testing.TB, url, bearer string, b []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v2/signingCert", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func leafOf(t testing.TB, resp string) *x509.Certificate {
	t.Helper()
	var out struct {
		SignedCertificateDetachedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateDetachedSct"`
	}
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		t.Fatal(err)
	}
	certs := out.SignedCertificateDetachedSct.Chain.Certificates
	if len(certs) != 3 {
		t.Fatalf("chain has %d certificates", len(certs))
	}
	block, _ := pem.Decode([]byte(certs[0]))
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGitHubCertificate checks every field Fulcio fills for GitHub Actions.
func TestGitHubCertificate(t *testing.T) {
	f := newFixture(t)
	spec := job()
	spec.Environment = "production"
	tok, err := f.issuer.Mint(spec, "sigstore")
	if err != nil {
		t.Fatal(err)
	}
	sub := claimsOf(t, tok)["sub"].(string)
	if sub != "repo:octo-org/octo-pkg:environment:production" {
		t.Fatalf("sub = %q", sub)
	}
	k := newKey(t)
	status, resp := post(t, f.caURL, tok, body(pubPEM(t, &k.PublicKey), proof(t, k, sub)))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	leaf := leafOf(t, resp)
	claims := claimsOf(t, tok)
	want := certificate.Extensions{
		Issuer:                              f.issuerURL,
		GithubWorkflowTrigger:               "push",
		GithubWorkflowSHA:                   sha,
		GithubWorkflowName:                  ".github/workflows/release.yml",
		GithubWorkflowRepository:            "octo-org/octo-pkg",
		GithubWorkflowRef:                   "refs/tags/v1.0.0",
		BuildSignerURI:                      "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0",
		BuildSignerDigest:                   sha,
		RunnerEnvironment:                   "github-hosted",
		SourceRepositoryURI:                 "https://github.com/octo-org/octo-pkg",
		SourceRepositoryDigest:              sha,
		SourceRepositoryRef:                 "refs/tags/v1.0.0",
		SourceRepositoryIdentifier:          claims["repository_id"].(string),
		SourceRepositoryOwnerURI:            "https://github.com/octo-org",
		SourceRepositoryOwnerIdentifier:     claims["repository_owner_id"].(string),
		BuildConfigURI:                      "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0",
		BuildConfigDigest:                   sha,
		BuildTrigger:                        "push",
		RunInvocationURI:                    "https://github.com/octo-org/octo-pkg/actions/runs/42/attempts/1",
		SourceRepositoryVisibilityAtSigning: "public",
	}
	got, err := certificate.ParseExtensions(leaf.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("extensions:\n got %+v\nwant %+v", got, want)
	}
	checkLeaf(t, f, leaf, "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0")
	if env := extString(t, leaf, ca.OIDDeploymentEnvironment); env != "production" {
		t.Errorf("deployment environment = %q", env)
	}
	// .8 onward are DER UTF8String (tag 12); .1 is the raw string.
	for _, e := range leaf.Extensions {
		if e.Id.Equal(certificate.OIDIssuerV2) && e.Value[0] != 0x0c {
			t.Errorf(".8 is not a UTF8String: % x", e.Value[:2])
		}
		//lint:ignore SA1019 the CA deliberately writes the legacy .1 issuer OID like Fulcio does; this checks its raw encoding
		if e.Id.Equal(certificate.OIDIssuer) && string(e.Value) != f.issuerURL {
			t.Errorf(".1 = %q", e.Value)
		}
	}
}

func extString(t testing.TB, c *x509.Certificate, id asn1.ObjectIdentifier) string {
	for _, e := range c.Extensions {
		if e.Id.Equal(id) {
			var s string
			if _, err := asn1.Unmarshal(e.Value, &s); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	return ""
}

func checkLeaf(t testing.TB, f *fixture, leaf *x509.Certificate, san string) {
	t.Helper()
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != san {
		t.Errorf("SAN = %v, want %s", leaf.URIs, san)
	}
	if len(leaf.Subject.Names) != 0 {
		t.Errorf("subject = %v, want empty", leaf.Subject)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != ca.LeafValidity {
		t.Errorf("validity = %v", d)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("key usage %v %v", leaf.KeyUsage, leaf.ExtKeyUsage)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(f.keys.Root)
	inter.AddCert(f.keys.Intermediate)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, CurrentTime: leaf.NotBefore}); err != nil {
		t.Errorf("chain: %v", err)
	}
}

// TestGitLabCertificate checks the gitlab-pipeline template.
func TestGitLabCertificate(t *testing.T) {
	f := newFixture(t)
	spec := oidc.JobSpec{Platform: oidc.GitLabCI, Repository: "grp/sub/proj", SHA: sha, Ref: "refs/tags/v2", RunnerEnvironment: "self-hosted", Visibility: "internal", EventName: "web"}
	tok, err := f.issuer.Mint(spec, "sigstore")
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tok)
	k := newKey(t)
	// sigstore-js sends the token in the body; no Authorization header.
	b, _ := json.Marshal(map[string]any{
		"credentials":      map[string]any{"oidcIdentityToken": tok},
		"publicKeyRequest": map[string]any{"publicKey": map[string]any{"algorithm": "ECDSA", "content": pubPEM(t, &k.PublicKey)}, "proofOfPossession": proof(t, k, c["sub"].(string))},
	})
	status, resp := post(t, f.caURL, "", b)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	leaf := leafOf(t, resp)
	got, err := certificate.ParseExtensions(leaf.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	want := certificate.Extensions{
		Issuer:                              f.issuerURL + "/gitlab",
		BuildSignerURI:                      "https://gitlab.com/grp/sub/proj//.gitlab-ci.yml@refs/tags/v2",
		BuildSignerDigest:                   sha,
		RunnerEnvironment:                   "self-hosted",
		SourceRepositoryURI:                 "https://gitlab.com/grp/sub/proj",
		SourceRepositoryDigest:              sha,
		SourceRepositoryRef:                 "refs/tags/v2",
		SourceRepositoryIdentifier:          c["project_id"].(string),
		SourceRepositoryOwnerURI:            "https://gitlab.com/grp/sub",
		SourceRepositoryOwnerIdentifier:     c["namespace_id"].(string),
		BuildConfigURI:                      "https://gitlab.com/grp/sub/proj//.gitlab-ci.yml@refs/tags/v2",
		BuildConfigDigest:                   sha,
		BuildTrigger:                        "web",
		RunInvocationURI:                    "https://gitlab.com/grp/sub/proj/-/jobs/" + c["job_id"].(string),
		SourceRepositoryVisibilityAtSigning: "internal",
	}
	if got != want {
		t.Errorf("extensions:\n got %+v\nwant %+v", got, want)
	}
	checkLeaf(t, f, leaf, "https://gitlab.com/grp/sub/proj//.gitlab-ci.yml@refs/tags/v2")
}

// TestRejections: each bad request gets 4xx naming the failed check.
func TestRejections(t *testing.T) {
	f := newFixture(t)
	good, err := f.issuer.Mint(job(), "sigstore")
	if err != nil {
		t.Fatal(err)
	}
	claims := claimsOf(t, good)
	sub := claims["sub"].(string)
	k := newKey(t)
	goodBody := body(pubPEM(t, &k.PublicKey), proof(t, k, sub))
	with := func(mut func(m map[string]any)) string {
		m := map[string]any{}
		for k, v := range claims {
			m[k] = v
		}
		mut(m)
		return token(t, f.issuerKey, m)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	otherKey := newKey(t)
	now := time.Now().Unix()
	csrDER, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)
	badCSR := append([]byte(nil), csrDER...)
	badCSR[len(badCSR)-3] ^= 1
	csrBody := func(der []byte) []byte {
		b, _ := json.Marshal(map[string]any{"certificateSigningRequest": base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))})
		return b
	}
	cases := []struct {
		name   string
		token  string
		body   []byte
		status int
		check  string
	}{
		{"malformed JSON", good, []byte(`{"publicKeyRequest":`), 400, "request-json"},
		{"no token", "", goodBody, 400, "identity-token"},
		{"token not a JWT", "not.a.jwt", goodBody, 401, "identity-token-format"},
		{"token one byte over the limit", strings.Repeat("a", limits.MaxJWTBytes+1), goodBody, 400, "identity-token-size"},
		{"token at the limit", strings.Repeat("a", limits.MaxJWTBytes), goodBody, 401, "identity-token-format"},
		{"expired token", with(func(m map[string]any) { m["exp"] = now - 120; m["iat"] = now - 900; m["nbf"] = now - 900 }), goodBody, 401, "token-expiry"},
		{"token from the future", with(func(m map[string]any) { m["nbf"] = now + 3600; m["iat"] = now + 3600 }), goodBody, 401, "token-not-before"},
		{"unknown issuer", with(func(m map[string]any) { m["iss"] = "https://token.example.com" }), goodBody, 401, "token-issuer"},
		{"wrong audience", with(func(m map[string]any) { m["aud"] = "npm:registry.npmjs.org" }), goodBody, 401, "token-audience"},
		{"token signed by another key", token(t, otherKey, claims), goodBody, 401, "token-signature"},
		{"missing claim", with(func(m map[string]any) { delete(m, "job_workflow_ref") }), goodBody, 400, "token-claims"},
		{"proof over another subject", good, body(pubPEM(t, &k.PublicKey), proof(t, k, "repo:evil/evil:ref:refs/heads/main")), 400, "proof-of-possession"},
		{"proof by another key", good, body(pubPEM(t, &k.PublicKey), proof(t, otherKey, sub)), 400, "proof-of-possession"},
		{"proof not base64", good, body(pubPEM(t, &k.PublicKey), "!!!"), 400, "proof-of-possession"},
		{"no public key", good, []byte(`{"publicKeyRequest":{"proofOfPossession":"AAAA"}}`), 400, "public-key"},
		{"unparseable public key", good, body("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", proof(t, k, sub)), 400, "public-key"},
		{"insecure RSA-1024 key", good, body(pubPEM(t, &rsaKey.PublicKey), "AAAA"), 400, "public-key"},
		{"no key request", good, []byte(`{}`), 400, "request-key"},
		{"CSR with a bad signature", good, csrBody(badCSR), 400, "proof-of-possession"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, resp := post(t, f.caURL, c.token, c.body)
			if status != c.status || !strings.Contains(resp, c.check+" check failed") {
				t.Errorf("got %d %s, want %d naming %q", status, resp, c.status, c.check)
			}
		})
	}
	t.Run("CSR", func(t *testing.T) {
		if status, resp := post(t, f.caURL, good, csrBody(csrDER)); status != http.StatusOK {
			t.Errorf("valid CSR: %d %s", status, resp)
		}
	})
}

// TestBodyLimit probes MaxSigningCertRequestBytes at the limit and one past it.
func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	tok, _ := f.issuer.Mint(job(), "sigstore")
	k := newKey(t)
	b := body(pubPEM(t, &k.PublicKey), proof(t, k, claimsOf(t, tok)["sub"].(string)))
	atLimit := append(b, bytes.Repeat([]byte(" "), limits.MaxSigningCertRequestBytes-len(b))...)
	if status, resp := post(t, f.caURL, tok, atLimit); status != http.StatusOK {
		t.Errorf("at the limit: %d %s", status, resp)
	}
	if status, resp := post(t, f.caURL, tok, append(atLimit, ' ')); status != http.StatusRequestEntityTooLarge || !strings.Contains(resp, "request-size") {
		t.Errorf("one past the limit: %d %s", status, resp)
	}
}

func TestTrustBundleAndConfiguration(t *testing.T) {
	f := newFixture(t)
	var tb struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	getJSON(t, f.caURL+"/api/v2/trustBundle", &tb)
	if len(tb.Chains) != 1 || len(tb.Chains[0].Certificates) != 2 {
		t.Fatalf("trust bundle = %+v", tb)
	}
	block, _ := pem.Decode([]byte(tb.Chains[0].Certificates[1]))
	if !bytes.Equal(block.Bytes, f.keys.Root.Raw) {
		t.Error("trust bundle does not end with the root")
	}
	var conf struct {
		Issuers []struct {
			IssuerURL string `json:"issuerUrl"`
			Audience  string `json:"audience"`
		} `json:"issuers"`
	}
	getJSON(t, f.caURL+"/api/v2/configuration", &conf)
	if len(conf.Issuers) != 2 || conf.Issuers[0].IssuerURL != f.issuerURL || conf.Issuers[0].Audience != "sigstore" {
		t.Errorf("configuration = %+v", conf)
	}
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestParseIssuer(t *testing.T) {
	cases := []struct {
		in   string
		kind ca.Kind
		ok   bool
	}{
		{"https://token.actions.githubusercontent.com", ca.GitHubWorkflow, true},
		{"https://gitlab.com", ca.GitLabPipeline, true},
		{"github=https://ghes.example.com/_services/token", ca.GitHubWorkflow, true},
		{"gitlab=https://code.example.com", ca.GitLabPipeline, true},
		{"https://accounts.google.com", "", false},
		{"circleci=https://oidc.circleci.com", "", false},
		{"github=ftp://x", "", false},
	}
	for _, c := range cases {
		is, err := ca.ParseIssuer(c.in)
		if (err == nil) != c.ok || (c.ok && is.Kind != c.kind) {
			t.Errorf("ParseIssuer(%q) = %+v, %v", c.in, is, err)
		}
	}
}

func TestLoadOrCreateKeysPersists(t *testing.T) {
	dir := t.TempDir()
	a, err := ca.LoadOrCreateKeys(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.LoadOrCreateKeys(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Root.Equal(b.Root) || !a.Intermediate.Equal(b.Intermediate) || !a.IntermediateKey.Equal(b.IntermediateKey) {
		t.Fatal("reload changed the CA")
	}
	if _, ok := a.Root.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Fatal("root is not ECDSA")
	}
}

func TestIssueCertificateErrorsAreTyped(t *testing.T) {
	f := newFixture(t)
	k := newKey(t)
	_, err := f.ca.IssueCertificate(context.Background(), &ca.SigningCertRequest{Token: "x.y.z", PublicKey: &k.PublicKey, ProofOfPossession: []byte{1}})
	var ce *provenance.CheckError
	if !errors.As(err, &ce) || ce.Check != "identity-token-format" {
		t.Fatalf("err = %v", err)
	}
}
