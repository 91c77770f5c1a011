package hardening

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/sign"
	sgca "github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/provenant/provenant/trust"
	"github.com/provenant/provenant/trust/ca"
	"github.com/provenant/provenant/trust/oidc"
)

// issuedCerts is a sigstore-go CertificateProvider that issues the leaf
// itself from the job's verified token claims, with the trust services'
// own certificate template, but with a chosen CA and validity window. It
// makes certificates the live CA would never issue: expired ones, and ones
// from a CA nobody trusts.
type issuedCerts struct {
	issuer    *ca.Issuer
	claims    map[string]any
	parent    *x509.Certificate
	parentKey *ecdsa.PrivateKey
	notBefore time.Time
	validity  time.Duration
}

func (c issuedCerts) GetCertificate(ctx context.Context, kp sign.Keypair, _ *sign.CertificateProviderOptions) ([]byte, error) {
	tmpl, err := ca.Template(c.issuer, c.claims)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl.SerialNumber = serial
	tmpl.NotBefore = c.notBefore
	tmpl.NotAfter = c.notBefore.Add(c.validity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	return x509.CreateCertificate(rand.Reader, tmpl, c.parent, kp.GetPublicKey(), c.parentKey)
}

// tokenClaims verifies a live ID token for spec with the live CA and
// returns its issuer and claims.
func (s *stack) tokenClaims(t testing.TB, spec oidc.JobSpec) (*ca.Issuer, map[string]any) {
	t.Helper()
	is, claims, err := s.trust.Services.CA().VerifyToken(context.Background(), s.trust.IDToken(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	return is, claims
}

// expiredCerts issues, under the trusted CA's own intermediate, a leaf
// that expired an hour before the log will integrate the entry.
func (s *stack) expiredCerts(t testing.TB) sign.CertificateProvider {
	t.Helper()
	keys, err := ca.LoadOrCreateKeys(filepath.Join(s.trust.DataDir, trust.CADir), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	is, claims := s.tokenClaims(t, s.job())
	return issuedCerts{issuer: is, claims: claims, parent: keys.Intermediate, parentKey: keys.IntermediateKey,
		notBefore: time.Now().Add(-2 * time.Hour).Truncate(time.Second), validity: 10 * time.Minute}
}

// untrustedCerts issues a currently valid leaf with the right extensions
// from a freshly generated CA that no trusted root names.
func (s *stack) untrustedCerts(t testing.TB) sign.CertificateProvider {
	t.Helper()
	rootCert, rootKey, err := sgca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := sgca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	is, claims := s.tokenClaims(t, s.job())
	return issuedCerts{issuer: is, claims: claims, parent: inter, parentKey: interKey,
		notBefore: time.Now().Add(-time.Minute).Truncate(time.Second), validity: 10 * time.Minute}
}

// resignCheckpoint replaces the signature lines of a checkpoint note with
// one by a fresh key that the trusted root does not know, keeping the
// origin and the signed text.
func resignCheckpoint(t testing.TB, envelope string) string {
	t.Helper()
	text, sigs, ok := strings.Cut(envelope, "\n\n")
	if !ok {
		t.Fatalf("checkpoint without signatures: %q", envelope)
	}
	origin, _, _ := strings.Cut(text, "\n")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	hint := sha256.Sum256(der)
	digest := sha256.Sum256([]byte(text + "\n"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	name := origin
	if f := strings.Fields(strings.TrimPrefix(sigs, "— ")); len(f) > 0 {
		name = f[0]
	}
	return text + "\n\n" + "— " + name + " " + base64.StdEncoding.EncodeToString(append(hint[:4], sig...)) + "\n"
}
