package provenance

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/internal/limits"
)

// MaxExplainBytes caps a document given to [Explain]: an attestations
// response carries up to two bundles (provenance and publish attestation).
const MaxExplainBytes = 2*limits.MaxBundleBytes + 64<<10

// The kinds of document [Explain] reads.
const (
	// SourceStatement is a bare in-toto statement.
	SourceStatement = "statement"
	// SourceBundle is a Sigstore bundle with a DSSE envelope, as in npm's
	// .sigstore attachment.
	SourceBundle = "bundle"
	// SourceAttestations is a registry's attestations response
	// (GET /-/npm/v1/attestations/<name>@<version>).
	SourceAttestations = "attestations"
)

// An Explanation is what a provenance document says, read without
// verifying any signature or log entry.
type Explanation struct {
	// Source is the kind of document: SourceStatement, SourceBundle or
	// SourceAttestations.
	Source string
	// BundleMediaType is the bundle's mediaType, when there is a bundle.
	BundleMediaType string
	// Statement is the statement's JSON, as signed.
	Statement []byte
	// Summary is the statement's summary.
	Summary *Summary
	// Certificate summarises the bundle's signing certificate; nil for a
	// bare statement or a key-signed bundle.
	Certificate *certificate.Summary
	// CertificateCheck is the result of [CheckCertificate] of the summary
	// against the certificate: nil when they agree or there is no
	// certificate.
	CertificateCheck error
}

// Explain reads a provenance document (a bare in-toto statement, a Sigstore
// bundle with a DSSE envelope, or an npm attestations response, whose SLSA
// provenance entry is used) and explains it. It decodes the statement with
// [ParseStatement] and, for a bundle with a certificate, compares them with
// [CheckCertificate]. It verifies no signature, chain or log entry: that
// is the registry's job.
func Explain(doc []byte) (*Explanation, error) {
	if len(doc) > MaxExplainBytes {
		return nil, fmt.Errorf("%w: document is %d bytes, more than the limit of %d", ErrStatement, len(doc), MaxExplainBytes)
	}
	var probe struct {
		Type         *string         `json:"_type"`
		DSSE         json.RawMessage `json:"dsseEnvelope"`
		Attestations []struct {
			PredicateType string          `json:"predicateType"`
			Bundle        json.RawMessage `json:"bundle"`
		} `json:"attestations"`
	}
	if err := json.Unmarshal(doc, &probe); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrStatement, err)
	}
	switch {
	case probe.Type != nil:
		s, err := ParseStatement(doc)
		if err != nil {
			return nil, err
		}
		return &Explanation{Source: SourceStatement, Statement: doc, Summary: s}, nil
	case probe.DSSE != nil:
		return explainBundle(doc, SourceBundle)
	case probe.Attestations != nil:
		for _, a := range probe.Attestations {
			if strings.HasPrefix(a.PredicateType, "https://slsa.dev/provenance/") {
				return explainBundle(a.Bundle, SourceAttestations)
			}
		}
		return nil, fmt.Errorf("%w: the attestations list no SLSA provenance", ErrStatement)
	}
	return nil, fmt.Errorf("%w: neither a statement (_type), a bundle (dsseEnvelope) nor an attestations response", ErrStatement)
}

// jsonBundle is the part of a Sigstore bundle (any version) Explain reads.
type jsonBundle struct {
	MediaType    string `json:"mediaType"`
	DSSEEnvelope *struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
	} `json:"dsseEnvelope"`
	VerificationMaterial struct {
		Certificate *struct {
			RawBytes string `json:"rawBytes"`
		} `json:"certificate"`
		X509CertificateChain *struct {
			Certificates []struct {
				RawBytes string `json:"rawBytes"`
			} `json:"certificates"`
		} `json:"x509CertificateChain"`
	} `json:"verificationMaterial"`
}

func explainBundle(doc []byte, source string) (*Explanation, error) {
	var b jsonBundle
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: bundle: %v", ErrStatement, err)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: bundle has no dsseEnvelope", ErrStatement)
	}
	if b.DSSEEnvelope.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type is %q, want %q", ErrStatement, b.DSSEEnvelope.PayloadType, PayloadType)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE payload is not base64: %v", ErrStatement, err)
	}
	s, err := ParseStatement(payload)
	if err != nil {
		return nil, err
	}
	e := &Explanation{Source: source, BundleMediaType: b.MediaType, Statement: payload, Summary: s}
	var raw string
	switch vm := b.VerificationMaterial; {
	case vm.Certificate != nil:
		raw = vm.Certificate.RawBytes
	case vm.X509CertificateChain != nil && len(vm.X509CertificateChain.Certificates) > 0:
		raw = vm.X509CertificateChain.Certificates[0].RawBytes
	default:
		return e, nil
	}
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate is not base64: %v", ErrStatement, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrStatement, err)
	}
	cs, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrStatement, err)
	}
	e.Certificate = &cs
	e.CertificateCheck = CheckCertificate(s, cs.Extensions)
	return e, nil
}
