package provenance_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

// forgeBundle returns the real sigstore@2.0.0 bundle with its DSSE
// payload replaced (the signature no longer matches, which Explain does
// not check).
func forgeBundle(t *testing.T, edit func(string) string) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(realworld.SigstoreJSBundle(t), &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(edit(string(payload))))
	out, _ := json.Marshal(b)
	return out
}

func TestExplain(t *testing.T) {
	real := realworld.SigstoreJSBundle(t)
	statement, err := provenance.BuildStatement(lookup(npmtest.GitLabEnv()), "hello-provenance", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	attestations := []byte(`{"attestations":[{"predicateType":"https://github.com/npm/attestation/tree/main/specs/publish/v0.1","bundle":{}},{"predicateType":"https://slsa.dev/provenance/v1","bundle":` + string(real) + `}]}`)
	var noCert map[string]any
	_ = json.Unmarshal(real, &noCert)
	noCert["verificationMaterial"] = map[string]any{"publicKey": map[string]any{"hint": "k"}}
	noCertBundle, _ := json.Marshal(noCert)

	tests := []struct {
		name     string
		doc      []byte
		source   string
		repo     string
		withCert bool
		check    string // expected CertificateCheck name
	}{
		{"real bundle", real, provenance.SourceBundle, "https://github.com/sigstore/sigstore-js", true, ""},
		{"attestations response", attestations, provenance.SourceAttestations, "https://github.com/sigstore/sigstore-js", true, ""},
		{"bare gitlab statement", statement, provenance.SourceStatement, "https://gitlab.com/provenant-demo/hello-provenance", false, ""},
		{"key-signed bundle", noCertBundle, provenance.SourceBundle, "https://github.com/sigstore/sigstore-js", false, ""},
		{"forged repository", forgeBundle(t, func(p string) string {
			return strings.ReplaceAll(p, "https://github.com/sigstore/sigstore-js", "https://github.com/evil/sigstore-js")
		}), provenance.SourceBundle, "https://github.com/evil/sigstore-js", true, "certificate-source-repository"},
		{"forged commit", forgeBundle(t, func(p string) string {
			return strings.ReplaceAll(p, "f0b49a04e5a62250e0f60fb128004a73110fe311", "0000000000000000000000000000000000000000")
		}), provenance.SourceBundle, "https://github.com/sigstore/sigstore-js", true, "certificate-source-commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := provenance.Explain(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			if e.Source != tt.source || e.Summary.SourceRepositoryURI != tt.repo || (e.Certificate != nil) != tt.withCert {
				t.Fatalf("got source %q, repo %q, certificate %v", e.Source, e.Summary.SourceRepositoryURI, e.Certificate != nil)
			}
			var ce *provenance.CheckError
			switch {
			case tt.check == "" && e.CertificateCheck != nil:
				t.Fatalf("unexpected certificate check failure %v", e.CertificateCheck)
			case tt.check != "" && (!errors.As(e.CertificateCheck, &ce) || ce.Check != tt.check):
				t.Fatalf("certificate check %v, want %s", e.CertificateCheck, tt.check)
			}
		})
	}
}

func TestExplainErrors(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"empty", ""},
		{"array", "[]"},
		{"unrelated object", `{"name":"x"}`},
		{"bundle without payload type", `{"dsseEnvelope":{"payload":"e30="}}`},
		{"bundle with bad base64", `{"dsseEnvelope":{"payload":"!!","payloadType":"application/vnd.in-toto+json"}}`},
		{"bundle with bad statement", `{"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json"}}`},
		{"attestations without provenance", `{"attestations":[]}`},
		{"too big", `{"_type":"` + strings.Repeat("a", provenance.MaxExplainBytes) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := provenance.Explain([]byte(tt.doc)); !errors.Is(err, provenance.ErrStatement) {
				t.Fatalf("got (%+v, %v), want ErrStatement", e, err)
			}
		})
	}
}

func FuzzExplain(f *testing.F) {
	f.Add([]byte(`{"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json"},"verificationMaterial":{"certificate":{"rawBytes":"MAA="}}}`))
	f.Add([]byte(`{"attestations":[{"predicateType":"https://slsa.dev/provenance/v1","bundle":{"dsseEnvelope":{}}}]}`))
	for _, c := range npmtest.Cases() {
		st, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st)
		f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"` + base64.StdEncoding.EncodeToString(st) + `","payloadType":"application/vnd.in-toto+json"}}`))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		e, err := provenance.Explain(doc)
		if err != nil {
			if !errors.Is(err, provenance.ErrStatement) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if e.Summary == nil || (e.Certificate == nil && e.CertificateCheck != nil) {
			t.Fatalf("inconsistent explanation %+v", e)
		}
	})
}

func TestExplainSizeLimit(t *testing.T) {
	st, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "a", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := `{"dsseEnvelope":{"payload":"` + base64.StdEncoding.EncodeToString(st) + `","payloadType":"application/vnd.in-toto+json"}}`
	pad := func(n int) []byte { return []byte(b + strings.Repeat(" ", n-len(b))) }
	if _, err := provenance.Explain(pad(provenance.MaxExplainBytes)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, err := provenance.Explain(pad(provenance.MaxExplainBytes + 1)); !errors.Is(err, provenance.ErrStatement) {
		t.Errorf("one past the limit: %v", err)
	}
}
