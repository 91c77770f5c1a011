package web

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// fixtureBody is the canonical dsse body of the captured Rekor v1 response
// (shared fixtures), whose verifier is a Fulcio certificate.
func fixtureBody(t testing.TB) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/rekor-v1-log-entries-dsse.response.json")
	if err != nil {
		t.Fatal(err)
	}
	var le models.LogEntry
	if err := json.Unmarshal(raw, &le); err != nil {
		t.Fatal(err)
	}
	for _, e := range le {
		b, err := entryBodyBytes(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatal("no entry in fixture")
	return nil
}

// testLog is an in-memory Rekor v1 read API over a real RFC 6962 tree
// (transparency-dev/merkle's reference tree), with a v1-style checkpoint
// signed by an ECDSA key, as the embedded log serves it.
type testLog struct {
	tree    *testonly.Tree
	bodies  [][]byte
	key     *ecdsa.PrivateKey
	logID   string
	tamper  func(idx int, e *models.LogEntryAnon)
	signKey *ecdsa.PrivateKey // signs checkpoints; key unless a test swaps it
}

func newTestLog(t testing.TB, bodies ...[]byte) *testLog {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	l := &testLog{tree: testonly.New(rfc6962.DefaultHasher), key: key, signKey: key, logID: hex.EncodeToString(id[:])}
	for _, b := range bodies {
		l.tree.AppendData(b)
		l.bodies = append(l.bodies, b)
	}
	return l
}

// trustedLog is trusted material holding only the log's key.
type trustedLog struct {
	root.BaseTrustedMaterial
	logs map[string]*root.TransparencyLog
}

func (t trustedLog) RekorLogs() map[string]*root.TransparencyLog { return t.logs }

func (l *testLog) trusted() root.TrustedMaterial {
	return &trustedLog{logs: map[string]*root.TransparencyLog{l.logID: {PublicKey: l.key.Public()}}}
}

func (l *testLog) checkpoint(t testing.TB, size uint64) string {
	s, err := signature.LoadECDSASignerVerifier(l.signKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := util.CreateAndSignCheckpoint(context.Background(), "rekor.local", 1234, size, l.tree.HashAt(size), s)
	if err != nil {
		t.Fatal(err)
	}
	return string(cp)
}

func (l *testLog) entry(t testing.TB, i int, proofSize uint64) models.LogEntry {
	hashes, err := l.tree.InclusionProof(uint64(i), proofSize)
	if err != nil {
		t.Fatal(err)
	}
	hx := []string{}
	for _, h := range hashes {
		hx = append(hx, hex.EncodeToString(h))
	}
	idx, size, it := int64(i), int64(proofSize), int64(1795309162)
	rootHex, cp := hex.EncodeToString(l.tree.HashAt(proofSize)), l.checkpoint(t, proofSize)
	e := models.LogEntryAnon{
		Body: base64.StdEncoding.EncodeToString(l.bodies[i]), IntegratedTime: &it, LogID: &l.logID, LogIndex: &idx,
		Verification: &models.LogEntryAnonVerification{InclusionProof: &models.InclusionProof{
			Checkpoint: &cp, Hashes: hx, LogIndex: &idx, RootHash: &rootHex, TreeSize: &size}},
	}
	if l.tamper != nil {
		l.tamper(i, &e)
	}
	uuid := "00000000000004d2" + hex.EncodeToString(l.tree.LeafHash(uint64(i)))
	return models.LogEntry{uuid: e}
}

// handler serves the Rekor v1 read API. Entry proofs are against proofSize
// (0 = the full tree), to exercise the consistency step.
func (l *testLog) handler(t testing.TB, proofSize uint64) http.Handler {
	mux := http.NewServeMux()
	size := func() uint64 { return l.tree.Size() }
	ps := func() uint64 {
		if proofSize == 0 {
			return size()
		}
		return proofSize
	}
	mux.HandleFunc("GET /api/v1/log", func(w http.ResponseWriter, r *http.Request) {
		n := int64(size())
		rh, sth, tid := hex.EncodeToString(l.tree.Hash()), l.checkpoint(t, size()), "1234"
		json.NewEncoder(w).Encode(models.LogInfo{TreeSize: &n, RootHash: &rh, SignedTreeHead: &sth, TreeID: &tid})
	})
	mux.HandleFunc("GET /api/v1/log/entries", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("logIndex"))
		if err != nil || i < 0 || i >= len(l.bodies) {
			http.Error(w, `{"code":404}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(l.entry(t, i, max(ps(), uint64(i+1))))
	})
	mux.HandleFunc("GET /api/v1/log/entries/{uuid}", func(w http.ResponseWriter, r *http.Request) {
		for i := range l.bodies {
			if strings.HasSuffix(r.PathValue("uuid"), hex.EncodeToString(l.tree.LeafHash(uint64(i)))) {
				json.NewEncoder(w).Encode(l.entry(t, i, max(ps(), uint64(i+1))))
				return
			}
		}
		http.Error(w, `{"code":404}`, http.StatusNotFound)
	})
	mux.HandleFunc("GET /api/v1/log/proof", func(w http.ResponseWriter, r *http.Request) {
		a, _ := strconv.ParseUint(r.URL.Query().Get("firstSize"), 10, 64)
		b, _ := strconv.ParseUint(r.URL.Query().Get("lastSize"), 10, 64)
		hs, err := l.tree.ConsistencyProof(a, b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hx := []string{}
		for _, h := range hs {
			hx = append(hx, hex.EncodeToString(h))
		}
		rh := hex.EncodeToString(l.tree.HashAt(b))
		json.NewEncoder(w).Encode(models.ConsistencyProof{Hashes: hx, RootHash: &rh})
	})
	return mux
}

func logBodies(t testing.TB, n int) [][]byte {
	bodies := [][]byte{fixtureBody(t)}
	for i := 1; i < n; i++ {
		bodies = append(bodies, []byte(fmt.Sprintf(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"%064x"}},"signature":{"content":"c2ln","publicKey":{"content":""}}}}`, i)))
	}
	return bodies
}

func TestLogEntryPage(t *testing.T) {
	tests := []struct {
		name      string
		proofSize uint64
		trusted   bool
		tamper    func(idx int, e *models.LogEntryAnon)
		swapKey   bool
		want      []string
	}{
		{name: "proof at latest size", trusted: true,
			want: []string{"Included in the log: proof checked against the latest signed checkpoint", "the proof is against the latest checkpoint itself"}},
		{name: "proof at older size, consistency checked", proofSize: 1, trusted: true,
			want: []string{"proof checked against the latest signed checkpoint", "tree 1 is a prefix of tree 5"}},
		{name: "no trusted root", want: []string{"its signature was not checked", "not checked: no trusted root"}},
		{name: "flipped proof hash", trusted: true, tamper: func(_ int, e *models.LogEntryAnon) {
			h := e.Verification.InclusionProof.Hashes
			h[0] = strings.Repeat("0", 64)
		}, want: []string{"Inclusion NOT proven", "security error: log inclusion proof failed"}},
		{name: "wrong root", trusted: true, tamper: func(_ int, e *models.LogEntryAnon) {
			r := strings.Repeat("ab", 32)
			e.Verification.InclusionProof.RootHash = &r
		}, want: []string{"Inclusion NOT proven"}},
		{name: "checkpoint signed by another key", trusted: true, swapKey: true,
			want: []string{"Inclusion NOT proven", "checkpoint signature does not verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newTestLog(t, logBodies(t, 5)...)
			l.tamper = tt.tamper
			if tt.swapKey {
				other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				l.signKey = other
			}
			logSrv := httptest.NewServer(l.handler(t, tt.proofSize))
			defer logSrv.Close()
			cfg := Config{Catalog: StoreCatalog{Store: newTestStore(t)}, LogURL: logSrv.URL}
			if tt.trusted {
				cfg.TrustedMaterial = l.trusted()
			}
			p, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			base := serve(t, p).URL
			uuid := hex.EncodeToString(l.tree.LeafHash(0))
			for _, path := range []string{"/-/log/entries/0", "/-/log/entries/00000000000004d2" + uuid, "/-/log/entries/" + uuid} {
				status, _, body := get(t, base+path)
				if status != http.StatusOK {
					t.Fatalf("%s: status %d", path, status)
				}
				mustContain(t, body, append([]string{
					"dsse 0.0.1",
					"https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main",
					"https://token.actions.githubusercontent.com",
					"Source Repository URI (1.3.6.1.4.1.57264.1.12)",
					uuid,
					"2026-11-22 00:59 UTC",
				}, tt.want...)...)
			}
		})
	}
}

func TestLogPages(t *testing.T) {
	l := newTestLog(t, logBodies(t, 3)...)
	logSrv := httptest.NewServer(l.handler(t, 0))
	defer logSrv.Close()
	p, err := New(Config{Catalog: StoreCatalog{Store: newTestStore(t)}, LogURL: logSrv.URL, TrustedMaterial: l.trusted()})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, p).URL
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/-/log", 200, []string{`id="tree-size">3<`, "verified with trusted log key " + l.logID, "rekor.local - 1234", `href="/-/log/entries/2"`, "hashedrekord", "release.yml@refs/heads/main"}},
		{"/-/log/entries/3", 404, []string{"has no entry 3", "The log has 3 entries, indexes 0 to 2"}},
		{"/-/log/entries/" + strings.Repeat("a", 64), 404, []string{"has no entry"}},
		{"/-/log/entries/not-an-id", 404, []string{"is not a log index or entry UUID"}},
		{"/-/log/entries?q=1", 200, []string{"Log entry 1", "hashedrekord 0.0.1", "Data hash"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, _, body := get(t, base+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			mustContain(t, body, tt.want...)
		})
	}
	t.Run("no log configured", func(t *testing.T) {
		p, _ := New(Config{Catalog: StoreCatalog{Store: newTestStore(t)}})
		base := serve(t, p).URL
		_, _, body := get(t, base+"/-/log")
		mustContain(t, body, "no transparency log configured")
	})
}

func TestLogResponseLimit(t *testing.T) {
	tests := []struct {
		size int
		ok   bool
	}{{maxLogResponseBytes, true}, {maxLogResponseBytes + 1, false}}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A JSON string padded with spaces to exactly tt.size bytes.
			w.Write([]byte(`"x"` + strings.Repeat(" ", tt.size-3)))
		}))
		rc, err := newRekorClient(srv.URL, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		var s string
		err = rc.get(context.Background(), "/", nil, &s)
		if (err == nil) != tt.ok {
			t.Errorf("size %d: err = %v, want ok=%v", tt.size, err, tt.ok)
		}
		srv.Close()
	}
}

func TestProofHashLimit(t *testing.T) {
	h := strings.Repeat("00", 32)
	for _, tt := range []struct {
		n  int
		ok bool
	}{{maxProofHashes, true}, {maxProofHashes + 1, false}} {
		hs := make([]string, tt.n)
		for i := range hs {
			hs[i] = h
		}
		if _, err := decodeHashes(hs); (err == nil) != tt.ok {
			t.Errorf("%d hashes: err = %v", tt.n, err)
		}
	}
}

func TestCheckInclusionTypedError(t *testing.T) {
	l := newTestLog(t, logBodies(t, 2)...)
	le := l.entry(t, 0, 2)
	for uuid, e := range le {
		e.Verification.InclusionProof.Hashes[0] = strings.Repeat("11", 32)
		n, rh, sth := int64(2), hex.EncodeToString(l.tree.Hash()), l.checkpoint(t, 2)
		rep := checkInclusion(context.Background(), uuid, l.bodies[0], e.Verification.InclusionProof, l.logID,
			&models.LogInfo{TreeSize: &n, RootHash: &rh, SignedTreeHead: &sth}, l.trusted(), nil)
		var pe *ProofError
		if rep.Verified || !errors.As(rep.Err, &pe) || pe.Step != "inclusion" || pe.Evidence["rootHash"] != rh {
			t.Fatalf("report = %+v", rep)
		}
	}
}

func TestParseEntryBody(t *testing.T) {
	eb, err := parseEntryBody(fixtureBody(t))
	if err != nil {
		t.Fatal(err)
	}
	if eb.Kind != "dsse" || eb.APIVersion != "0.0.1" || len(eb.Signatures) != 1 || len(eb.Hashes) != 2 {
		t.Fatalf("parsed %+v", eb)
	}
	v := parseVerifier(eb.Signatures[0].Verifier)
	if v.Cert == nil || v.Cert.SAN != "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main" || v.Problem != "" {
		t.Fatalf("verifier %+v", v)
	}
	sigs := make([]string, maxEntrySignatures+1)
	for i := range sigs {
		sigs[i] = `{"signature":"x","verifier":"y"}`
	}
	for _, tt := range []struct {
		n  int
		ok bool
	}{{maxEntrySignatures, true}, {maxEntrySignatures + 1, false}} {
		body := `{"apiVersion":"0.0.1","kind":"dsse","spec":{"signatures":[` + strings.Join(sigs[:tt.n], ",") + `]}}`
		if _, err := parseEntryBody([]byte(body)); (err == nil) != tt.ok {
			t.Errorf("%d signatures: err = %v", tt.n, err)
		}
	}
	for _, bad := range []string{"", "{}", "[]", `{"kind":"dsse"}`, `{"kind":"dsse","apiVersion":"0.0.1","spec":[]}`} {
		if _, err := parseEntryBody([]byte(bad)); err == nil {
			t.Errorf("parseEntryBody(%q) succeeded", bad)
		}
	}
}

func FuzzParseEntryBody(f *testing.F) {
	f.Add(fixtureBody(f))
	f.Add([]byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}},"signature":{"content":"c2ln","publicKey":{"content":"eA=="}}}}`))
	f.Add([]byte(`{"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"envelope":{"signatures":[{"sig":"x","publicKey":"eA=="}]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		eb, err := parseEntryBody(b)
		if err != nil {
			return
		}
		if eb.Kind == "" || len(eb.Signatures) > maxEntrySignatures {
			t.Fatalf("accepted %+v", eb)
		}
		for _, s := range eb.Signatures {
			parseVerifier(s.Verifier) // must not panic on any input
		}
	})
}

func FuzzReadmeFromTarball(f *testing.F) {
	f.Add(testTarball(f, map[string]string{"package.json": "{}", "README.md": "# hi"}))
	f.Add(testTarball(f, map[string]string{"package.json": "{}", "lib/README.md": "nested"}))
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readmeFromTarball(bytes.NewReader(b))
		if err == nil && len(s) > maxReadmeBytes+1 {
			t.Fatalf("README of %d bytes exceeds the cap", len(s))
		}
	})
}

func TestReadmeFromTarball(t *testing.T) {
	tests := []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"package.json": "{}", "README.md": "# top"}, "# top"},
		{map[string]string{"package.json": "{}", "readme.markdown": "lower"}, "lower"},
		{map[string]string{"package.json": "{}", "lib/README.md": "nested only"}, ""},
		{map[string]string{"package.json": "{}"}, ""},
	}
	for _, tt := range tests {
		got, err := readmeFromTarball(bytes.NewReader(testTarball(t, tt.files)))
		if err != nil || got != tt.want {
			t.Errorf("readmeFromTarball(%v) = %q, %v; want %q", tt.files, got, err, tt.want)
		}
	}
	if _, err := readmeFromTarball(strings.NewReader("not gzip")); err == nil {
		t.Error("accepted a non-gzip tarball")
	}
}
