package trust_test

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

const testSHA = "0123456789abcdef0123456789abcdef01234567"

var artifact = []byte("pretend this is octo-pkg-1.0.0.tgz")

func githubJob() oidc.JobSpec {
	return oidc.JobSpec{Repository: "octo-org/octo-pkg", SHA: testSHA, Ref: "refs/tags/v1.0.0", Workflow: ".github/workflows/release.yml"}
}

// statement returns an in-toto statement whose subject is the artifact.
func statement(name string) []byte {
	sum := sha512.Sum512(artifact)
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":%q,"digest":{"sha512":%q}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x"}}}`, name, hex.EncodeToString(sum[:]))
}

// signDSSE signs a statement with sigstore-go's own signer against env.
func signDSSE(t testing.TB, env *trusttest.Env, token string, stmt []byte, tr root.TrustedMaterial) (*protobundle.Bundle, error) {
	t.Helper()
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return sign.Bundle(&sign.DSSEData{Data: stmt, PayloadType: "application/vnd.in-toto+json"}, kp, sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: env.BaseURL, Timeout: 10 * time.Second}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: env.BaseURL, Version: 1, Timeout: 10 * time.Second})},
		TrustedRoot:                tr,
	})
}

func verifier(t testing.TB, tr root.TrustedMaterial) *verify.Verifier {
	t.Helper()
	v, err := verify.NewVerifier(tr, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func githubIdentity(t testing.TB, issuer string, ext certificate.Extensions) verify.PolicyOption {
	t.Helper()
	san, err := verify.NewSANMatcher("", `^https://github\.com/octo-org/octo-pkg/\.github/workflows/release\.yml@refs/tags/v1\.0\.0$`)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := verify.NewIssuerMatcher(issuer, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := verify.NewCertificateIdentity(san, iss, ext)
	if err != nil {
		t.Fatal(err)
	}
	return verify.WithCertificateIdentity(id)
}

func artifactPolicy() verify.ArtifactPolicyOption {
	sum := sha512.Sum512(artifact)
	return verify.WithArtifactDigest("sha512", sum[:])
}

// roundTrip serializes a bundle as the publisher would and parses it back.
func roundTrip(t testing.TB, pb *protobundle.Bundle) []byte {
	t.Helper()
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadBundle(raw []byte) (*bundle.Bundle, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	return &b, nil
}

// TestSigstoreGoSignAndVerify: sigstore-go's stock signer (Fulcio + Rekor v1)
// against the services, then sigstore-go's verifier with the exported
// trusted root and a certificate-identity policy.
func TestSigstoreGoSignAndVerify(t *testing.T) {
	env := trusttest.Start(t)
	token := env.IDToken(t, githubJob())
	pb, err := signDSSE(t, env, token, statement("pkg:npm/octo-pkg@1.0.0"), env.TrustedRoot)
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	raw := roundTrip(t, pb)
	b, err := loadBundle(raw)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	ext := certificate.Extensions{
		SourceRepositoryURI:                 "https://github.com/octo-org/octo-pkg",
		SourceRepositoryDigest:              testSHA,
		SourceRepositoryRef:                 "refs/tags/v1.0.0",
		BuildConfigURI:                      "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0",
		RunnerEnvironment:                   "github-hosted",
		SourceRepositoryVisibilityAtSigning: "public",
	}
	res, err := verifier(t, env.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, ext)))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if res.Signature.Certificate.SubjectAlternativeName != "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0" {
		t.Errorf("SAN = %q", res.Signature.Certificate.SubjectAlternativeName)
	}
	if len(res.VerifiedTimestamps) != 1 || res.VerifiedTimestamps[0].Type != "Tlog" {
		t.Errorf("verified timestamps = %+v", res.VerifiedTimestamps)
	}

	// The wrong repository in the policy must fail, naming the extension.
	bad := ext
	bad.SourceRepositoryURI = "https://github.com/Octo-org/octo-pkg"
	if _, err := verifier(t, env.TrustedRoot).Verify(b, verify.NewPolicy(artifactPolicy(), githubIdentity(t, env.BaseURL, bad))); err == nil || !bytes.Contains([]byte(err.Error()), []byte("SourceRepositoryURI")) {
		t.Errorf("wrong repository: err = %v", err)
	}
}
