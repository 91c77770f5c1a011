package ca_test

import (
	"testing"

	"github.com/provenant/provenant/trust/ca"
)

func FuzzParseSigningCertRequest(f *testing.F) {
	f.Add([]byte(`{"publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOb9UfjCf1a02R2DaM/YfQq3VMI8z\nHfzAraDeCrW0ojC0N6iCtvpjzucusSVEffhYfrr+IND6hrKqsnfCdH6Prg==\n-----END PUBLIC KEY-----\n"},"proofOfPossession":"MEUCIBc1U/dlSQnYFW006OsiNvO/EKFA4O6T2egnhUDEWyzyAiEAuVTFZeSL9/DiFf5+U7/FhHelEfsmQjCpX1AAJek3vpE="}}`), "Bearer a.b.c")
	f.Add([]byte(`{"credentials":{"oidcIdentityToken":"a.b.c"},"certificateSigningRequest":"AAAA"}`), "")
	f.Add([]byte(`{}`), "Bearer ")
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		req, err := ca.ParseSigningCertRequest(body, auth)
		if err == nil && (req.Token == "" || req.PublicKey == nil) {
			t.Fatalf("accepted a request without token or key: %+v", req)
		}
	})
}

func FuzzUnverifiedIssuer(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL3guZXhhbXBsZSJ9.AAAA")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		iss, err := ca.UnverifiedIssuer(tok)
		if err == nil && iss == "" {
			t.Fatal("empty issuer without error")
		}
	})
}
