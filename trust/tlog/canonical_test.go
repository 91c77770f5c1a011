package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/transparency-dev/tessera/client"
)

// rekorCanonical is Rekor's own path: go-openapi decoding, the versioned
// entry (which verifies) and types.CanonicalizeEntry (which, for
// hashedrekord, verifies again).
func rekorCanonical(body []byte) ([]byte, error) {
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		return nil, err
	}
	e, err := createVersionedEntry(pe)
	if err != nil {
		return nil, err
	}
	return types.CanonicalizeEntry(context.Background(), e)
}

type testKey struct {
	name   string
	signer crypto.Signer
	hash   crypto.Hash // the digest algorithm the signature covers
	pem    func(t testing.TB) []byte
}

func pkixPEM(t testing.TB, pub crypto.PublicKey, crlf bool) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if crlf {
		b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	}
	return b
}

func certPEM(t testing.TB, s crypto.Signer, extra ...[]byte) []byte {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), bytes.Join(extra, nil)...)
}

var testKeys = sync.OnceValue(func() []testKey {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	return []testKey{
		{"p256 key", p256, crypto.SHA256, func(t testing.TB) []byte { return pkixPEM(t, p256.Public(), false) }},
		{"p256 key CRLF", p256, crypto.SHA256, func(t testing.TB) []byte { return pkixPEM(t, p256.Public(), true) }},
		{"p256 key sha512", p256, crypto.SHA512, func(t testing.TB) []byte { return pkixPEM(t, p256.Public(), false) }},
		{"p384 key sha384", p384, crypto.SHA384, func(t testing.TB) []byte { return pkixPEM(t, p384.Public(), false) }},
		{"rsa key", rsaKey, crypto.SHA256, func(t testing.TB) []byte { return pkixPEM(t, rsaKey.Public(), false) }},
		{"ed25519ph key", edKey, crypto.SHA512, func(t testing.TB) []byte { return pkixPEM(t, edKey.Public(), false) }},
		{"p256 certificate", p256, crypto.SHA256, func(t testing.TB) []byte { return certPEM(t, p256) }},
		{"p256 certificate with trailing text", p256, crypto.SHA256, func(t testing.TB) []byte { return certPEM(t, p256, []byte("\n\n")) }},
		{"rsa certificate", rsaKey, crypto.SHA384, func(t testing.TB) []byte { return certPEM(t, rsaKey) }},
	}
})

// signedHashedRekord signs data's digest with k and returns the proposed
// entry, with its fields in another order than Rekor's canonical one.
func signedHashedRekord(t testing.TB, k testKey, data []byte) []byte {
	var digest []byte
	switch k.hash {
	case crypto.SHA384:
		s := sha512.Sum384(data)
		digest = s[:]
	case crypto.SHA512:
		s := sha512.Sum512(data)
		digest = s[:]
	default:
		s := sha256.Sum256(data)
		digest = s[:]
	}
	var opts crypto.SignerOpts = k.hash
	if _, ok := k.signer.(ed25519.PrivateKey); ok {
		opts = &ed25519.Options{Hash: crypto.SHA512}
	}
	sig, err := k.signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	alg := map[crypto.Hash]string{crypto.SHA256: "sha256", crypto.SHA384: "sha384", crypto.SHA512: "sha512"}[k.hash]
	return fmt.Appendf(nil, `{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"signature":{"publicKey":{"content":%q},"content":%q},"data":{"hash":{"value":%q,"algorithm":%q}}}}`,
		base64.StdEncoding.EncodeToString(k.pem(t)), base64.StdEncoding.EncodeToString(sig), hex.EncodeToString(digest), alg)
}

// TestCanonicalHashedRekord compares the log's canonical hashedrekord body
// (one signature verification) with Rekor's own (two), for every key type
// and digest Rekor admits, and checks that a bad signature is still refused.
func TestCanonicalHashedRekord(t *testing.T) {
	for _, k := range testKeys() {
		for _, variant := range []string{"plain", "indented", "upper-case digest"} {
			t.Run(k.name+"/"+variant, func(t *testing.T) {
				body := signedHashedRekord(t, k, []byte("artifact "+k.name))
				switch variant {
				case "indented":
					var b bytes.Buffer
					if err := json.Indent(&b, body, "", "\t"); err != nil {
						t.Fatal(err)
					}
					body = b.Bytes()
				case "upper-case digest":
					var e struct {
						Spec struct {
							Data struct {
								Hash struct {
									Value string `json:"value"`
								} `json:"hash"`
							} `json:"data"`
						} `json:"spec"`
					}
					if err := json.Unmarshal(body, &e); err != nil {
						t.Fatal(err)
					}
					v := e.Spec.Data.Hash.Value
					body = bytes.Replace(body, []byte(v), []byte(strings.ToUpper(v)), 1)
				}
				want, err := rekorCanonical(body)
				if err != nil {
					t.Fatalf("Rekor refuses the entry: %v", err)
				}
				got, err := ParseProposedEntry(context.Background(), body)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("canonical body differs from Rekor's:\n got %s\nwant %s", got, want)
				}
				// The same entry with the signature of other data must fail.
				other := signedHashedRekord(t, k, []byte("other"))
				mixed := bytes.Replace(body, sigOf(t, body), sigOf(t, other), 1)
				if bytes.Equal(mixed, body) {
					t.Fatal("signature not replaced")
				}
				if _, err := ParseProposedEntry(context.Background(), mixed); err == nil || !strings.Contains(err.Error(), "entry-validation") {
					t.Fatalf("entry with a foreign signature: %v", err)
				}
			})
		}
	}
}

// sigOf returns the quoted base64 signature content of a body built by
// signedHashedRekord.
func sigOf(t testing.TB, body []byte) []byte {
	var e struct {
		Spec struct {
			Signature struct {
				Content string `json:"content"`
			} `json:"signature"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Spec.Signature.Content == "" {
		t.Fatalf("no signature content: %v", err)
	}
	return []byte(e.Spec.Signature.Content)
}

// FuzzCanonicalHashedRekord is the differential fuzz target: for any body,
// the log and Rekor must agree on acceptance, and where they accept, on the
// canonical bytes. Seeds are valid entries for every key type.
func FuzzCanonicalHashedRekord(f *testing.F) {
	for i, k := range testKeys() {
		f.Add(signedHashedRekord(f, k, fmt.Appendf(nil, "seed %d", i)))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseProposedEntry(context.Background(), body)
		if err != nil {
			return // refusals are FuzzParseProposedEntry's business; Rekor may be laxer on kinds we do not admit
		}
		want, rerr := rekorCanonical(body)
		if rerr != nil {
			t.Fatalf("log accepts what Rekor refuses (%v): %s", rerr, body)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("canonical body differs from Rekor's:\n got %s\nwant %s", got, want)
		}
	})
}

// TestCanonicalAgreesOnRandomEntries is the differential test over random
// valid inputs: random data, key type, digest and field order.
func TestCanonicalAgreesOnRandomEntries(t *testing.T) {
	keys := testKeys()
	for i := range 60 {
		k := keys[i%len(keys)]
		data := make([]byte, 1+i*7)
		_, _ = rand.Read(data)
		body := signedHashedRekord(t, k, data)
		want, err := rekorCanonical(body)
		if err != nil {
			t.Fatalf("%s: Rekor refuses: %v", k.name, err)
		}
		got, err := ParseProposedEntry(context.Background(), body)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: got %s, %v; want %s", k.name, got, err, want)
		}
	}
}

// TestSETPayload checks the directly written SET payload against the
// canonicalizer, including at the 2^53 boundary where RFC 8785 changes
// number form.
func TestSETPayload(t *testing.T) {
	logID := strings.Repeat("ab", 32)
	cases := []struct {
		body  []byte
		t     int64
		index uint64
	}{
		{[]byte(`{"a":1}`), 1700000000, 0},
		{nil, 0, 1},
		{bytes.Repeat([]byte{0xff}, 1000), -5, 123456789},
		{[]byte("x"), maxExactJSONInt - 1, maxExactJSONInt - 1},
		{[]byte("x"), maxExactJSONInt, maxExactJSONInt},
		{[]byte("x"), -maxExactJSONInt, 1 << 60},
	}
	for _, c := range cases {
		got, err := setPayload(c.body, c.t, logID, c.index)
		if err != nil {
			t.Fatal(err)
		}
		want, err := canonicalSETPayload(c.body, c.t, logID, c.index)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("t=%d index=%d:\n got %s\nwant %s", c.t, c.index, got, want)
		}
	}
}

// TestProofBuilderMatchesTessera compares every inclusion and consistency
// proof of the memoising builder with tessera's client.ProofBuilder over
// the same tiles, across two full tiles and a partial one.
func TestProofBuilderMatchesTessera(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, Config{Dir: t.TempDir(), Host: "rekor.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	added := 0
	// Tiles for a smaller size are gone once the tree grows, so the proofs
	// are compared at each size as the tree reaches it.
	for _, s := range []uint64{1, 37, 256, 300, 2*256 + 37} {
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := added + g; i < int(s); i += 16 {
					if _, err := l.addLeaf(ctx, fmt.Appendf(nil, "leaf %d", i)); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		added = int(s)
		if size, err := l.reader.IntegratedSize(ctx); err != nil || size != s {
			t.Fatalf("size %d, %v; want %d", size, err, s)
		}
		ours := newProofBuilder(s, l.reader.ReadTile)
		theirs, err := client.NewProofBuilder(ctx, s, l.reader.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		for i := range s {
			a, err := ours.inclusionProof(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			b, err := theirs.InclusionProof(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(a, b) {
				t.Fatalf("size %d: inclusion proof of %d differs", s, i)
			}
			c, err := ours.consistencyProof(ctx, i+1, s)
			if err != nil {
				t.Fatal(err)
			}
			d, err := theirs.ConsistencyProof(ctx, i+1, s)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHashes(c, d) {
				t.Fatalf("size %d: consistency proof from %d differs", s, i+1)
			}
		}
		if _, err := ours.inclusionProof(ctx, s); err == nil {
			t.Errorf("size %d: inclusion proof of %d (outside the tree) succeeded", s, s)
		}
		if _, err := ours.consistencyProof(ctx, 1, s+1); err == nil {
			t.Errorf("size %d: consistency proof beyond the tree succeeded", s)
		}
	}
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
