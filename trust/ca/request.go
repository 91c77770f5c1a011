package ca

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/cryptoutils/goodkey"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
)

// A SigningCertRequest is a parsed POST /api/v2/signingCert body (Fulcio's
// CreateSigningCertificateRequest). Exactly one of the proof forms is set:
// PublicKey with ProofOfPossession, or CSR.
type SigningCertRequest struct {
	// Token is the OIDC ID token, from credentials.oidcIdentityToken or,
	// when the body has none, from the Authorization: Bearer header.
	Token string
	// PublicKey is the key to certify.
	PublicKey crypto.PublicKey
	// ProofOfPossession is a signature by PublicKey over the token's subject.
	ProofOfPossession []byte
	// CSR is a PKCS#10 request, whose self-signature is the proof of possession.
	CSR *x509.CertificateRequest
}

// wireRequest is Fulcio's JSON request shape (fulcio.proto, protojson names).
type wireRequest struct {
	Credentials *struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest *struct {
		PublicKey *struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
	CertificateSigningRequest string `json:"certificateSigningRequest"`
}

// ParseSigningCertRequest parses a signingCert body. authorization is the
// request's Authorization header, used when the body carries no credentials
// (sigstore-go sends the token only there; sigstore-js only in the body).
// Failures are *provenance.CheckError naming the bad field.
func ParseSigningCertRequest(body []byte, authorization string) (*SigningCertRequest, error) {
	if len(body) > limits.MaxSigningCertRequestBytes {
		return nil, &provenance.CheckError{Check: "request-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxSigningCertRequestBytes), Actual: fmt.Sprintf("%d bytes", len(body))}
	}
	var w wireRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, &provenance.CheckError{Check: "request-json", Err: err}
	}
	if dec.More() {
		return nil, &provenance.CheckError{Check: "request-json", Err: errors.New("trailing data after the JSON object")}
	}
	req := &SigningCertRequest{}
	if w.Credentials != nil && w.Credentials.OIDCIdentityToken != "" {
		req.Token = w.Credentials.OIDCIdentityToken
	} else if tok, ok := strings.CutPrefix(authorization, "Bearer "); ok {
		req.Token = strings.TrimSpace(tok)
	}
	if req.Token == "" {
		return nil, &provenance.CheckError{Check: "identity-token", Expected: "credentials.oidcIdentityToken or Authorization: Bearer", Actual: "none"}
	}
	if len(req.Token) > limits.MaxJWTBytes {
		return nil, &provenance.CheckError{Check: "identity-token-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxJWTBytes), Actual: fmt.Sprintf("%d bytes", len(req.Token))}
	}
	switch {
	case w.PublicKeyRequest != nil && w.CertificateSigningRequest != "":
		return nil, &provenance.CheckError{Check: "request-key", Expected: "publicKeyRequest or certificateSigningRequest", Actual: "both"}
	case w.PublicKeyRequest != nil:
		pk := w.PublicKeyRequest.PublicKey
		if pk == nil || pk.Content == "" {
			return nil, &provenance.CheckError{Check: "public-key", Expected: "publicKeyRequest.publicKey.content", Actual: "none"}
		}
		pub, err := parsePublicKey(pk.Content)
		if err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "public-key", Err: fmt.Errorf("The public key supplied in the request could not be parsed: %w", err)}
		}
		if err := goodkey.ValidatePubKey(pub); err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "public-key", Err: fmt.Errorf("The public key supplied in the request is insecure: %w", err)}
		}
		proof, err := base64.StdEncoding.DecodeString(w.PublicKeyRequest.ProofOfPossession)
		if err != nil || len(proof) == 0 {
			return nil, &provenance.CheckError{Check: "proof-of-possession", Expected: "standard base64 signature", Actual: w.PublicKeyRequest.ProofOfPossession}
		}
		req.PublicKey, req.ProofOfPossession = pub, proof
	case w.CertificateSigningRequest != "":
		raw, err := base64.StdEncoding.DecodeString(w.CertificateSigningRequest)
		if err != nil {
			return nil, &provenance.CheckError{Check: "certificate-signing-request", Err: err}
		}
		der := raw
		if block, _ := pem.Decode(raw); block != nil {
			der = block.Bytes
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			return nil, &provenance.CheckError{Check: "certificate-signing-request", Err: err}
		}
		if err := csr.CheckSignature(); err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "proof-of-possession", Err: fmt.Errorf("The signature supplied in the request could not be verified: %w", err)}
		}
		if err := goodkey.ValidatePubKey(csr.PublicKey); err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "public-key", Err: fmt.Errorf("The public key supplied in the request is insecure: %w", err)}
		}
		req.PublicKey, req.CSR = csr.PublicKey, csr
	default:
		return nil, &provenance.CheckError{Check: "request-key", Expected: "publicKeyRequest or certificateSigningRequest", Actual: "none"}
	}
	return req, nil
}

// parsePublicKey accepts a PEM public key, or base64 DER (SPKI) as some
// clients send.
func parsePublicKey(content string) (crypto.PublicKey, error) {
	if strings.Contains(content, "-----BEGIN") {
		return cryptoutils.UnmarshalPEMToPublicKey([]byte(content))
	}
	der, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return nil, errors.New("neither PEM nor base64 DER")
	}
	return x509.ParsePKIXPublicKey(der)
}
