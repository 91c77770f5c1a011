package publisher

import (
	"strings"
	"testing"
)

// FuzzRegistryError parses registry error bodies, which are untrusted.
func FuzzRegistryError(f *testing.F) {
	f.Add(422, []byte(`{"error":"Error verifying sigstore provenance bundle: x"}`))
	f.Add(401, []byte(`{"message":"bad token"}`))
	f.Add(500, []byte(`<html>oops</html>`))
	f.Add(403, []byte(`{"error":{"nested":true}}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := registryError("PUT", "http://r/p", &response{status: status, body: body})
		msg := e.Error()
		if !strings.Contains(msg, "PUT http://r/p") || len(e.Message) > len(body) {
			t.Fatalf("error %q from body %q", msg, body)
		}
	})
}

// FuzzStatementFromBundle reads --provenance-file contents.
func FuzzStatementFromBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[]}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, _, err := statementFromBundle(b)
		if err == nil && len(payload) == 0 {
			t.Fatal("accepted a bundle without payload")
		}
	})
}
