package registry

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/provenant/provenant/npmwire"
)

// keyFileName is the registry signing key's file in the data directory.
const keyFileName = "registry-signing-key.pem"

// A signer holds the registry's ECDSA P-256 key, which signs
// dist.signatures and publish attestations.
type signer struct {
	key   *ecdsa.PrivateKey
	keyID string
	// spki is the base64 DER SubjectPublicKeyInfo served at /-/npm/v1/keys.
	spki string
}

// loadOrCreateSigner reads the key from dir, creating it on first use.
func loadOrCreateSigner(dir string) (*signer, error) {
	path := filepath.Join(dir, keyFileName)
	data, err := os.ReadFile(path)
	var key *ecdsa.PrivateKey
	switch {
	case errors.Is(err, os.ErrNotExist):
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("write registry key: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("read registry key: %w", err)
	default:
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("registry key %s: no PEM block", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("registry key %s: %w", path, err)
		}
		ek, ok := k.(*ecdsa.PrivateKey)
		if !ok || ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("registry key %s: not an ECDSA P-256 key", path)
		}
		key = ek
	}
	return newSigner(key)
}

func newSigner(key *ecdsa.PrivateKey) (*signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &signer{
		key:   key,
		keyID: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]),
		spki:  base64.StdEncoding.EncodeToString(der),
	}, nil
}

// sign returns the base64 DER ECDSA signature of sha256(msg).
func (s *signer) sign(msg []byte) (string, error) {
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, sum[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// keys is the /-/npm/v1/keys response.
func (s *signer) keys() npmwire.KeysResponse {
	return npmwire.KeysResponse{Keys: []npmwire.Key{{
		KeyID: s.keyID, KeyType: npmwire.KeyTypeECDSAP256, Scheme: npmwire.KeyTypeECDSAP256, Key: s.spki,
	}}}
}

// distSignature signs "{name}@{version}:{integrity}" for dist.signatures.
func (s *signer) distSignature(name, version, integrity string) (npmwire.Signature, error) {
	sig, err := s.sign([]byte(name + "@" + version + ":" + integrity))
	return npmwire.Signature{KeyID: s.keyID, Sig: sig}, err
}

// Media and payload types of the publish attestation.
const (
	bundleMediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
	inTotoPayloadType  = "application/vnd.in-toto+json"
	inTotoStatementV01 = "https://in-toto.io/Statement/v0.1"
)

// pae is DSSE's pre-authentication encoding.
func pae(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// publishAttestation builds npm's publish attestation (predicate v0.1)
// for a version, signed by the registry key, as a v0.3 bundle whose
// verification material is the key hint. It is not logged in a
// transparency log.
func (s *signer) publishAttestation(name, version, sha512hex, registryURL string) (json.RawMessage, error) {
	type subject struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	stmt, err := json.Marshal(struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     any       `json:"predicate"`
	}{
		Type:          inTotoStatementV01,
		Subject:       []subject{{Name: npmwire.PURL(name, version), Digest: map[string]string{"sha512": sha512hex}}},
		PredicateType: npmwire.PredicatePublishV01,
		Predicate:     map[string]string{"name": name, "version": version, "registry": registryURL},
	})
	if err != nil {
		return nil, err
	}
	sig, err := s.sign(pae(inTotoPayloadType, stmt))
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"mediaType": bundleMediaTypeV03,
		"verificationMaterial": map[string]any{
			"publicKey":   map[string]string{"hint": s.keyID},
			"tlogEntries": []any{},
		},
		"dsseEnvelope": map[string]any{
			"payload":     base64.StdEncoding.EncodeToString(stmt),
			"payloadType": inTotoPayloadType,
			"signatures":  []map[string]string{{"sig": sig, "keyid": s.keyID}},
		},
	})
}
