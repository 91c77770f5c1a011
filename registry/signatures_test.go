package registry

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/verify"
)

// npmKeys fetches /-/npm/v1/keys and turns each key into PEM and back, as
// npm's verify-signatures code does.
func npmKeys(t *testing.T, r *testRegistry) map[string]*ecdsa.PublicKey {
	t.Helper()
	code, body, _ := r.do(t, http.MethodGet, "/-/npm/v1/keys", "", nil)
	if code != http.StatusOK {
		t.Fatalf("keys: %d", code)
	}
	var keys npmwire.KeysResponse
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatal(err)
	}
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range keys.Keys {
		if k.KeyType != "ecdsa-sha2-nistp256" || k.Scheme != "ecdsa-sha2-nistp256" || !strings.HasPrefix(k.KeyID, "SHA256:") {
			t.Fatalf("key shape: %+v", k)
		}
		pemText := "-----BEGIN PUBLIC KEY-----\n" + k.Key + "\n-----END PUBLIC KEY-----"
		block, _ := pem.Decode([]byte(pemText))
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out[k.KeyID] = pub.(*ecdsa.PublicKey)
	}
	return out
}

func verifySig(pub *ecdsa.PublicKey, msg []byte, b64sig string) bool {
	sig, err := base64.StdEncoding.DecodeString(b64sig)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(pub, sum[:], sig)
}

// TestRegistrySignaturesLikeNPM takes the steps of npm's verify-signatures
// code (npm/cli lib/utils/verify-signatures.js, npm/pacote lib/registry.js)
// in independent test code: keys from /-/npm/v1/keys; for each version of
// the full packument, dist.signatures over "name@version:integrity" under a
// known, unexpired key; then dist.attestations fetched at the registry
// origin plus the URL's pathname, each bundle's subject checked against
// the PURL and the integrity's hex digest.
func TestRegistrySignaturesLikeNPM(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{}}`)
	r.publish(t, tok, "@acme/signed", "1.0.0", "latest", bundle, http.StatusCreated) // public-good (fake)
	r.fv.root = verify.RootPrivate
	r.publish(t, tok, "@acme/signed", "1.1.0", "latest", bundle, http.StatusCreated) // private instance
	r.publish(t, tok, "@acme/signed", "1.2.0", "latest", nil, http.StatusCreated)    // no provenance

	keys := npmKeys(t, r)
	code, body, _ := r.do(t, http.MethodGet, "/@acme%2fsigned", "", nil, "Accept", "application/json")
	if code != http.StatusOK {
		t.Fatalf("packument: %d", code)
	}
	var p struct {
		Versions map[string]struct {
			Name, Version string
			Dist          npmwire.Dist
		}
		Time map[string]string
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Versions) != 3 {
		t.Fatalf("versions: %d", len(p.Versions))
	}
	for v, m := range p.Versions {
		id := m.Name + "@" + m.Version
		// Key expiry is judged at the version's publish time.
		if _, err := time.Parse(time.RFC3339, p.Time[v]); err != nil {
			t.Errorf("%s: time %q: %v", id, p.Time[v], err)
		}
		if len(m.Dist.Signatures) != 1 {
			t.Fatalf("%s: %d signatures", id, len(m.Dist.Signatures))
		}
		sig := m.Dist.Signatures[0]
		pub, ok := keys[sig.KeyID]
		if !ok {
			t.Fatalf("%s has a registry signature with keyid: %s but no corresponding public key can be found", id, sig.KeyID)
		}
		if !verifySig(pub, []byte(id+":"+m.Dist.Integrity), sig.Sig) {
			t.Errorf("%s has an invalid registry signature", id)
		}
		// A signature over another integrity must not verify.
		if verifySig(pub, []byte(id+":sha512-"+strings.Repeat("A", 86)+"=="), sig.Sig) {
			t.Errorf("%s: signature verifies for another integrity", id)
		}

		wantAtt := v == "1.0.0"
		if (m.Dist.Attestations != nil) != wantAtt {
			t.Fatalf("%s: dist.attestations = %+v, want listed only for public-good provenance", id, m.Dist.Attestations)
		}
		if !wantAtt {
			continue
		}
		u, err := url.Parse(m.Dist.Attestations.URL)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path != "/-/npm/v1/attestations/@acme/signed@1.0.0" || !strings.Contains(m.Dist.Attestations.URL, "@acme%2fsigned@1.0.0") {
			t.Errorf("attestations URL = %s", m.Dist.Attestations.URL)
		}
		atts := fetchAttestations(t, r, u.EscapedPath())
		if len(atts) != 1 || atts[0].PredicateType != npmwire.PredicateSLSAv1 || string(atts[0].Bundle) != string(bundle) {
			t.Errorf("npm attestations = %+v", atts)
		}
	}

	// Provenant's own endpoint lists the publish attestation, keyed by the
	// registry key, for every version, plus the provenance of any root.
	for v, wantN := range map[string]int{"1.0.0": 2, "1.1.0": 2, "1.2.0": 1} {
		atts := fetchAttestations(t, r, "/-/provenant/v1/attestations/@acme%2fsigned@"+v)
		if len(atts) != wantN {
			t.Fatalf("%s: %d attestations, want %d", v, len(atts), wantN)
		}
		checkPublishAttestation(t, keys, atts[0], "@acme/signed", v, p.Versions[v].Dist.Integrity, r.URL)
	}
	// Private provenance is not in npm's list.
	if code, _, _ := r.do(t, http.MethodGet, "/-/npm/v1/attestations/@acme%2fsigned@1.1.0", "", nil); code != http.StatusNotFound {
		t.Errorf("npm attestations for private provenance: %d, want 404", code)
	}
}

func fetchAttestations(t *testing.T, r *testRegistry, path string) []npmwire.Attestation {
	t.Helper()
	code, body, _ := r.do(t, http.MethodGet, path, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var resp npmwire.AttestationsResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Attestations
}

// checkPublishAttestation follows npm's attestation steps for a keyed
// bundle: keyid → registry key, PURL and digest subject, DSSE signature.
func checkPublishAttestation(t *testing.T, keys map[string]*ecdsa.PublicKey, a npmwire.Attestation, name, version, integrity, registryURL string) {
	t.Helper()
	if a.PredicateType != npmwire.PredicatePublishV01 {
		t.Fatalf("predicateType = %s", a.PredicateType)
	}
	var b struct {
		MediaType            string
		VerificationMaterial struct {
			PublicKey struct{ Hint string }
		}
		DSSEEnvelope struct {
			Payload     string
			PayloadType string
			Signatures  []struct{ Keyid, Sig string }
		}
	}
	if err := json.Unmarshal(a.Bundle, &b); err != nil {
		t.Fatal(err)
	}
	sig := b.DSSEEnvelope.Signatures[0]
	pub, ok := keys[sig.Keyid]
	if !ok || b.VerificationMaterial.PublicKey.Hint != sig.Keyid {
		t.Fatalf("%s@%s has attestations but no corresponding public key(s) can be found (keyid %q, hint %q)", name, version, sig.Keyid, b.VerificationMaterial.PublicKey.Hint)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(b.DSSEEnvelope.PayloadType), b.DSSEEnvelope.PayloadType, len(payload), payload)
	if !verifySig(pub, []byte(pae), sig.Sig) {
		t.Errorf("%s@%s failed to verify attestation", name, version)
	}
	var stmt struct {
		Subject []struct {
			Name   string
			Digest map[string]string
		}
		PredicateType string
		Predicate     map[string]string
	}
	if err := json.Unmarshal(payload, &stmt); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(integrity, "sha512-"))
	if stmt.Subject[0].Name != npmwire.PURL(name, version) || stmt.Subject[0].Digest["sha512"] != hex.EncodeToString(raw) {
		t.Errorf("subject = %+v, want %s %x", stmt.Subject, npmwire.PURL(name, version), raw)
	}
	if stmt.PredicateType != npmwire.PredicatePublishV01 || stmt.Predicate["name"] != name || stmt.Predicate["version"] != version || stmt.Predicate["registry"] != registryURL {
		t.Errorf("statement = %+v", stmt)
	}
}
