package realworld

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// TestRealWorldData checks that the three real-world inputs fit together:
// the bundle's subject digest is the sha512 of the tarball npm serves, and
// the trusted root names public-good Fulcio.
func TestRealWorldData(t *testing.T) {
	var b struct {
		DSSE struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(SigstoreJSBundle(t), &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(SigstoreJSTarball(t))
	if len(st.Subject) != 1 || st.Subject[0].Name != "pkg:npm/sigstore@2.0.0" || st.Subject[0].Digest["sha512"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("subject %+v does not match the tarball's sha512 %x", st.Subject, sum)
	}
	if root := PublicGoodTrustedRoot(t); !bytes.Contains(root, []byte("https://fulcio.sigstore.dev")) {
		t.Fatalf("trusted root does not name public-good fulcio: %.200s", root)
	}
}
