package ca

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/provenant/provenant/trust/internal/keyfile"
)

// Validity of the persistent CA certificates.
const (
	RootValidity         = 10 * 365 * 24 * time.Hour
	IntermediateValidity = 10 * 365 * 24 * time.Hour
)

// Files of a CA directory.
const (
	RootCertFile         = "root.pem"
	RootKeyFile          = "root-key.pem"
	IntermediateCertFile = "intermediate.pem"
	IntermediateKeyFile  = "intermediate-key.pem"
)

// RootOrganization is the root's subject organization. The trusted root
// repeats the root's subject, so this is where the trusted root itself says
// that the CA has no certificate transparency log.
const RootOrganization = "provenant (no certificate transparency log)"

// Keys are the CA's persistent root and intermediate, ECDSA P-256.
type Keys struct {
	// Root is the self-signed trust anchor.
	Root *x509.Certificate
	// Intermediate is signed by Root and signs the leaves.
	Intermediate *x509.Certificate
	// IntermediateKey is Intermediate's private key.
	IntermediateKey *ecdsa.PrivateKey
}

// LoadOrCreateKeys loads the root and intermediate from dir, or creates
// them (and the directory) when dir holds no root certificate yet. The root
// key is kept in dir as well; it is only used to sign the intermediate.
func LoadOrCreateKeys(dir string, now time.Time) (*Keys, error) {
	root, err := keyfile.LoadCertificate(filepath.Join(dir, RootCertFile))
	if err == nil {
		inter, err := keyfile.LoadCertificate(filepath.Join(dir, IntermediateCertFile))
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		key, err := keyfile.LoadKey(filepath.Join(dir, IntermediateKeyFile))
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		if err := inter.CheckSignatureFrom(root); err != nil {
			return nil, fmt.Errorf("ca: intermediate is not signed by root: %w", err)
		}
		if !key.PublicKey.Equal(inter.PublicKey) {
			return nil, errors.New("ca: intermediate key does not match intermediate certificate")
		}
		return &Keys{Root: root, Intermediate: inter, IntermediateKey: key}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ca: %w", err)
	}
	return createKeys(dir, now)
}

func createKeys(dir string, now time.Time) (*Keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	// Fresh keys: a stale key file without its certificate is replaced.
	for _, f := range []string{RootKeyFile, IntermediateKeyFile, IntermediateCertFile} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	rootKey, _, err := keyfile.LoadOrCreateKey(filepath.Join(dir, RootKeyFile))
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	interKey, _, err := keyfile.LoadOrCreateKey(filepath.Join(dir, IntermediateKeyFile))
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	start := now.Add(-time.Minute).UTC().Truncate(time.Second)
	rootTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{RootOrganization}, CommonName: "provenant-root"},
		NotBefore:             start,
		NotAfter:              start.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("ca: create root: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Organization: []string{"provenant"}, CommonName: "provenant-intermediate"},
		NotBefore:             start,
		NotAfter:              start.Add(IntermediateValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("ca: create intermediate: %w", err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, err
	}
	if err := keyfile.WriteFile(filepath.Join(dir, IntermediateCertFile), keyfile.CertificatePEM(inter), 0o644); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	// The root certificate is written last: its presence marks a complete CA.
	if err := keyfile.WriteFile(filepath.Join(dir, RootCertFile), keyfile.CertificatePEM(root), 0o644); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	return &Keys{Root: root, Intermediate: inter, IntermediateKey: interKey}, nil
}

func randomSerial() *big.Int {
	// 20 bytes, positive: RFC 5280 §4.1.2.2.
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b)
}
