package web

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// maxEntrySignatures caps the signatures shown for one entry.
const maxEntrySignatures = 16

// An entryBody is the part of a Rekor entry body the viewer shows.
type entryBody struct {
	Kind, APIVersion string
	// Hashes are the digests the entry commits to (payload, envelope, data).
	Hashes []labeled
	// Signatures are the entry's signatures with their verifiers.
	Signatures []entrySignature
}

// A labeled value is one row of a definition list.
type labeled struct{ Label, Value string }

// An entrySignature is one signature and the key or certificate that
// verifies it, both as the log stores them (base64).
type entrySignature struct {
	Signature string
	// Verifier is base64 of a PEM certificate or public key.
	Verifier string
}

type hashValue struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

func (h *hashValue) labeled(label string) []labeled {
	if h == nil || h.Value == "" {
		return nil
	}
	return []labeled{{label, h.Algorithm + ":" + h.Value}}
}

// parseEntryBody decodes a canonical Rekor entry body (JSON, untrusted) of
// kind dsse, hashedrekord or intoto. Other kinds decode to their kind and
// version only.
func parseEntryBody(body []byte) (*entryBody, error) {
	var raw struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Spec       json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("entry body is not JSON: %w", err)
	}
	if raw.Kind == "" || raw.APIVersion == "" {
		return nil, errors.New("entry body has no kind or apiVersion")
	}
	eb := &entryBody{Kind: raw.Kind, APIVersion: raw.APIVersion}
	var err error
	switch raw.Kind {
	case "dsse":
		var s struct {
			EnvelopeHash *hashValue `json:"envelopeHash"`
			PayloadHash  *hashValue `json:"payloadHash"`
			Signatures   []struct {
				Signature string `json:"signature"`
				Verifier  string `json:"verifier"`
			} `json:"signatures"`
		}
		if err = json.Unmarshal(raw.Spec, &s); err == nil {
			eb.Hashes = append(s.PayloadHash.labeled("Payload hash"), s.EnvelopeHash.labeled("Envelope hash")...)
			for _, sig := range s.Signatures {
				eb.Signatures = append(eb.Signatures, entrySignature{sig.Signature, sig.Verifier})
			}
		}
	case "hashedrekord":
		var s struct {
			Data struct {
				Hash *hashValue `json:"hash"`
			} `json:"data"`
			Signature struct {
				Content   string `json:"content"`
				PublicKey struct {
					Content string `json:"content"`
				} `json:"publicKey"`
			} `json:"signature"`
		}
		if err = json.Unmarshal(raw.Spec, &s); err == nil {
			eb.Hashes = s.Data.Hash.labeled("Data hash")
			eb.Signatures = []entrySignature{{s.Signature.Content, s.Signature.PublicKey.Content}}
		}
	case "intoto":
		var s struct {
			Content struct {
				Hash        *hashValue `json:"hash"`
				PayloadHash *hashValue `json:"payloadHash"`
				Envelope    struct {
					Signatures []struct {
						Sig       string `json:"sig"`
						PublicKey string `json:"publicKey"`
					} `json:"signatures"`
				} `json:"envelope"`
			} `json:"content"`
			PublicKey string `json:"publicKey"`
		}
		if err = json.Unmarshal(raw.Spec, &s); err == nil {
			eb.Hashes = append(s.Content.PayloadHash.labeled("Payload hash"), s.Content.Hash.labeled("Envelope hash")...)
			for _, sig := range s.Content.Envelope.Signatures {
				eb.Signatures = append(eb.Signatures, entrySignature{sig.Sig, sig.PublicKey})
			}
			if len(eb.Signatures) == 0 && s.PublicKey != "" {
				eb.Signatures = []entrySignature{{"", s.PublicKey}}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s entry spec: %w", raw.Kind, raw.APIVersion, err)
	}
	if len(eb.Signatures) > maxEntrySignatures {
		return nil, fmt.Errorf("entry has %d signatures, more than %d", len(eb.Signatures), maxEntrySignatures)
	}
	return eb, nil
}

// A certView summarises a Fulcio certificate for the entry page.
type certView struct {
	SAN        string
	Issuer     string // the OIDC issuer (Fulcio extension)
	CA         string // the certificate's issuer DN
	NotBefore  time.Time
	NotAfter   time.Time
	Serial     string
	Extensions []labeled
}

// A verifierView is what an entry's verifier turned out to be.
type verifierView struct {
	Cert      *certView
	PublicKey string // PEM, when the verifier is a bare key
	Problem   string // why the verifier could not be read
}

// parseVerifier decodes base64(PEM) of a certificate or public key.
func parseVerifier(b64 string) verifierView {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return verifierView{Problem: "verifier is not base64: " + err.Error()}
	}
	block, _ := pem.Decode(der)
	if block == nil {
		return verifierView{Problem: "verifier is not PEM"}
	}
	if block.Type != "CERTIFICATE" {
		return verifierView{PublicKey: string(bytes.TrimSpace(der))}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return verifierView{Problem: "certificate does not parse: " + err.Error()}
	}
	cv := &certView{CA: cert.Issuer.String(), NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Serial: cert.SerialNumber.Text(16)}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return verifierView{Cert: cv, Problem: "certificate has no Fulcio identity: " + err.Error()}
	}
	cv.SAN, cv.Issuer = sum.SubjectAlternativeName, sum.Issuer
	cv.Extensions = fulcioExtensions(sum.Extensions)
	return verifierView{Cert: cv}
}

// fulcioExtensions lists the set Fulcio extensions with their OIDs.
func fulcioExtensions(e certificate.Extensions) []labeled {
	rows := []struct {
		oid, name, value string
	}{
		{"1.3.6.1.4.1.57264.1.8", "Issuer", e.Issuer},
		{"1.3.6.1.4.1.57264.1.9", "Build Signer URI", e.BuildSignerURI},
		{"1.3.6.1.4.1.57264.1.10", "Build Signer Digest", e.BuildSignerDigest},
		{"1.3.6.1.4.1.57264.1.11", "Runner Environment", e.RunnerEnvironment},
		{"1.3.6.1.4.1.57264.1.12", "Source Repository URI", e.SourceRepositoryURI},
		{"1.3.6.1.4.1.57264.1.13", "Source Repository Digest", e.SourceRepositoryDigest},
		{"1.3.6.1.4.1.57264.1.14", "Source Repository Ref", e.SourceRepositoryRef},
		{"1.3.6.1.4.1.57264.1.15", "Source Repository Identifier", e.SourceRepositoryIdentifier},
		{"1.3.6.1.4.1.57264.1.16", "Source Repository Owner URI", e.SourceRepositoryOwnerURI},
		{"1.3.6.1.4.1.57264.1.17", "Source Repository Owner Identifier", e.SourceRepositoryOwnerIdentifier},
		{"1.3.6.1.4.1.57264.1.18", "Build Config URI", e.BuildConfigURI},
		{"1.3.6.1.4.1.57264.1.19", "Build Config Digest", e.BuildConfigDigest},
		{"1.3.6.1.4.1.57264.1.20", "Build Trigger", e.BuildTrigger},
		{"1.3.6.1.4.1.57264.1.21", "Run Invocation URI", e.RunInvocationURI},
		{"1.3.6.1.4.1.57264.1.22", "Source Repository Visibility", e.SourceRepositoryVisibilityAtSigning},
	}
	var out []labeled
	for _, r := range rows {
		if r.value != "" {
			out = append(out, labeled{r.name + " (" + r.oid + ")", r.value})
		}
	}
	return out
}
