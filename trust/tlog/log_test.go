package tlog_test

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
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	rtnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/trust/tlog"
)

type testLog struct {
	log *tlog.Log
	url string
	dir string
	srv *httptest.Server
}

func openLog(t testing.TB, dir string) *testLog {
	t.Helper()
	l, err := tlog.Open(context.Background(), tlog.Config{Dir: dir, Host: "rekor.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	tl := &testLog{log: l, url: srv.URL, dir: dir, srv: srv}
	t.Cleanup(tl.close)
	return tl
}

func (tl *testLog) close() {
	if tl.srv != nil {
		tl.srv.Close()
		tl.log.Close()
		tl.srv = nil
	}
}

var signer = func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

func pubPEM(k *ecdsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func hashedrekord(k *ecdsa.PrivateKey, data []byte) []byte {
	sum := sha256.Sum256(data)
	sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
	return fmt.Appendf(nil, `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":%q}},"signature":{"content":%q,"publicKey":{"content":%q}}}}`,
		hex.EncodeToString(sum[:]), b64(sig), b64(pubPEM(k)))
}

func envelope(k *ecdsa.PrivateKey, payload []byte) (env []byte, sig []byte) {
	sum := sha256.Sum256(dsse.PAE("application/vnd.in-toto+json", payload))
	sig, _ = ecdsa.SignASN1(rand.Reader, k, sum[:])
	env, _ = json.Marshal(map[string]any{"payload": b64(payload), "payloadType": "application/vnd.in-toto+json", "signatures": []any{map[string]any{"sig": b64(sig)}}})
	return env, sig
}

func dsseEntry(k *ecdsa.PrivateKey, payload []byte) []byte {
	env, _ := envelope(k, payload)
	b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "dsse", "spec": map[string]any{"proposedContent": map[string]any{"envelope": string(env), "verifiers": []string{b64(pubPEM(k))}}, "signatures": nil}})
	return b
}

// intotoEntry builds an intoto 0.0.2 entry, whose envelope fields are
// base64 of the DSSE envelope's own base64 strings, as cosign sends them.
func intotoEntry(k *ecdsa.PrivateKey, payload []byte) []byte {
	env, sig := envelope(k, payload)
	envSum := sha256.Sum256(env)
	b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.2", "kind": "intoto", "spec": map[string]any{"content": map[string]any{
		"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(envSum[:])},
		"envelope": map[string]any{
			"payload":     b64([]byte(b64(payload))),
			"payloadType": "application/vnd.in-toto+json",
			"signatures":  []any{map[string]any{"sig": b64([]byte(b64(sig))), "publicKey": b64(pubPEM(k))}},
		}}}})
	return b
}

type wireEntry struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"`
	LogIndex       int64  `json:"logIndex"`
	Verification   struct {
		InclusionProof struct {
			Checkpoint string   `json:"checkpoint"`
			Hashes     []string `json:"hashes"`
			LogIndex   int64    `json:"logIndex"`
			RootHash   string   `json:"rootHash"`
			TreeSize   int64    `json:"treeSize"`
		} `json:"inclusionProof"`
		SignedEntryTimestamp string `json:"signedEntryTimestamp"`
	} `json:"verification"`
}

func do(t testing.TB, method, url string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// one decodes a {uuid: entry} map with exactly one entry.
func one(t testing.TB, raw []byte) (string, wireEntry) {
	t.Helper()
	var m map[string]wireEntry
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		t.Fatalf("entry map %s: %v", raw, err)
	}
	for k, v := range m {
		return k, v
	}
	panic("unreachable")
}

// verifyEntry checks the SET, inclusion proof and checkpoint of an answer
// independently of the server, with the log's public key.
func verifyEntry(t testing.TB, l *tlog.Log, uuid string, e wireEntry) {
	t.Helper()
	body, _ := base64.StdEncoding.DecodeString(e.Body)
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	if uuid != fmt.Sprintf("%016x%x", l.TreeID(), leaf) {
		t.Errorf("uuid %s does not name the leaf", uuid)
	}
	if e.LogID != hex.EncodeToString(l.LogID()) {
		t.Errorf("logID = %s", e.LogID)
	}
	payload, _ := json.Marshal(map[string]any{"body": e.Body, "integratedTime": e.IntegratedTime, "logID": e.LogID, "logIndex": e.LogIndex})
	canon, _ := jsoncanonicalizer.Transform(payload)
	set, _ := base64.StdEncoding.DecodeString(e.Verification.SignedEntryTimestamp)
	sum := sha256.Sum256(canon)
	if !ecdsa.VerifyASN1(l.PublicKey(), sum[:], set) {
		t.Error("SET does not verify")
	}
	ip := e.Verification.InclusionProof
	hashes := make([][]byte, len(ip.Hashes))
	for i, h := range ip.Hashes {
		hashes[i], _ = hex.DecodeString(h)
	}
	root, _ := hex.DecodeString(ip.RootHash)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(ip.LogIndex), uint64(ip.TreeSize), leaf, hashes, root); err != nil {
		t.Errorf("inclusion proof: %v", err)
	}
	v, _ := signature.LoadVerifier(l.PublicKey(), crypto.SHA256)
	var cp rekorutil.SignedCheckpoint
	if err := cp.UnmarshalText([]byte(ip.Checkpoint)); err != nil || !cp.Verify(v) {
		t.Fatalf("checkpoint %q does not verify: %v", ip.Checkpoint, err)
	}
	if cp.Origin != l.Origin() || cp.Size != uint64(ip.TreeSize) || !bytes.Equal(cp.Hash, root) {
		t.Errorf("checkpoint %+v does not match proof (size %d)", cp.Checkpoint, ip.TreeSize)
	}
	if !strings.HasPrefix(ip.Checkpoint, "rekor.test - ") {
		t.Errorf("checkpoint origin line: %q", ip.Checkpoint)
	}
}

func TestAddEachKindAndReadBack(t *testing.T) {
	tl := openLog(t, t.TempDir())
	entries := map[string][]byte{
		"hashedrekord": hashedrekord(signer, []byte("artifact")),
		"dsse":         dsseEntry(signer, []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)),
		"intoto":       intotoEntry(signer, []byte(`{"_type":"https://in-toto.io/Statement/v0.1"}`)),
	}
	for _, kind := range []string{"hashedrekord", "dsse", "intoto"} {
		t.Run(kind, func(t *testing.T) {
			status, hdr, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", entries[kind])
			if status != http.StatusCreated {
				t.Fatalf("POST: %d %s", status, raw)
			}
			uuid, e := one(t, raw)
			if hdr.Get("ETag") != uuid || hdr.Get("Location") != "/api/v1/log/entries/"+uuid {
				t.Errorf("headers ETag=%q Location=%q", hdr.Get("ETag"), hdr.Get("Location"))
			}
			verifyEntry(t, tl.log, uuid, e)
			body, _ := base64.StdEncoding.DecodeString(e.Body)
			if !strings.Contains(string(body), `"kind":"`+kind+`"`) {
				t.Errorf("body %s", body)
			}
			for _, path := range []string{"/api/v1/log/entries/" + uuid, "/api/v1/log/entries/" + uuid[16:], fmt.Sprintf("/api/v1/log/entries?logIndex=%d", e.LogIndex)} {
				status, _, raw := do(t, http.MethodGet, tl.url+path, nil)
				if status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, status, raw)
				}
				u2, e2 := one(t, raw)
				if u2 != uuid || e2.Body != e.Body || e2.IntegratedTime != e.IntegratedTime {
					t.Errorf("GET %s returned another entry", path)
				}
				verifyEntry(t, tl.log, u2, e2)
			}
			// retrieve by UUID, by index and by proposed entry.
			q, _ := json.Marshal(map[string]any{"entryUUIDs": []string{uuid}, "logIndexes": []int64{e.LogIndex}, "entries": []json.RawMessage{entries[kind]}})
			status, _, raw = do(t, http.MethodPost, tl.url+"/api/v1/log/entries/retrieve", q)
			var got []map[string]wireEntry
			if status != http.StatusOK || json.Unmarshal(raw, &got) != nil || len(got) != 3 {
				t.Fatalf("retrieve: %d %s", status, raw)
			}
			for _, m := range got {
				if _, ok := m[uuid]; !ok {
					t.Errorf("retrieve returned %v", m)
				}
			}
		})
	}
	var info struct {
		TreeSize       uint64 `json:"treeSize"`
		RootHash       string `json:"rootHash"`
		SignedTreeHead string `json:"signedTreeHead"`
		TreeID         string `json:"treeID"`
	}
	_, _, raw := do(t, http.MethodGet, tl.url+"/api/v1/log", nil)
	if err := json.Unmarshal(raw, &info); err != nil || info.TreeSize != 3 || info.TreeID != fmt.Sprint(tl.log.TreeID()) {
		t.Fatalf("log info %s", raw)
	}
	_, _, raw = do(t, http.MethodGet, tl.url+"/api/v1/log/publicKey", nil)
	if !bytes.Contains(raw, []byte("BEGIN PUBLIC KEY")) {
		t.Errorf("public key %s", raw)
	}
}

func TestDuplicates(t *testing.T) {
	tl := openLog(t, t.TempDir())
	entry := dsseEntry(signer, []byte(`{"n":1}`))
	status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", entry)
	if status != http.StatusCreated {
		t.Fatalf("first POST: %d %s", status, raw)
	}
	uuid, _ := one(t, raw)
	status, hdr, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", entry)
	if status != http.StatusConflict || hdr.Get("Location") != "/api/v1/log/entries/"+uuid || !bytes.Contains(raw, []byte(`"code":409`)) {
		t.Fatalf("duplicate: %d %v %s", status, hdr, raw)
	}
	if status, _, _ := do(t, http.MethodGet, tl.url+hdr.Get("Location"), nil); status != http.StatusOK {
		t.Fatalf("GET Location: %d", status)
	}
	// Concurrent submissions of one new entry: one 201, the rest 409.
	fresh := dsseEntry(signer, []byte(`{"n":2}`))
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, _ := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", fresh)
			codes <- s
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", c)
		}
	}
	if created != 1 {
		t.Errorf("%d concurrent submissions were created, want 1", created)
	}
	size, _, _, _ := tl.log.Head(context.Background())
	if size != 2 {
		t.Errorf("tree size %d, want 2", size)
	}
}

func TestRejections(t *testing.T) {
	tl := openLog(t, t.TempDir())
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	// An entry whose signature is by another key than the one it names.
	badHashed := func() []byte {
		sum := sha256.Sum256([]byte("x"))
		sig, _ := ecdsa.SignASN1(rand.Reader, other, sum[:])
		return fmt.Appendf(nil, `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":%q}},"signature":{"content":%q,"publicKey":{"content":%q}}}}`, hex.EncodeToString(sum[:]), b64(sig), b64(pubPEM(signer)))
	}()
	badDSSE := func() []byte {
		env, _ := envelope(other, []byte(`{}`))
		b, _ := json.Marshal(map[string]any{"apiVersion": "0.0.1", "kind": "dsse", "spec": map[string]any{"proposedContent": map[string]any{"envelope": string(env), "verifiers": []string{b64(pubPEM(signer))}}}})
		return b
	}()
	tamperedIntoto := bytes.Replace(intotoEntry(signer, []byte(`{"a":1}`)), []byte(`"payloadType":"application/vnd.in-toto+json"`), []byte(`"payloadType":"application/json"`), 1)
	big := append(hashedrekord(signer, []byte("big")), bytes.Repeat([]byte(" "), limits.MaxLogEntryRequestBytes)...)
	cases := []struct {
		name   string
		body   []byte
		status int
		check  string
	}{
		{"malformed JSON", []byte(`{"kind":`), 400, "entry-json"},
		{"not an object", []byte(`[]`), 400, "entry-json"},
		{"unknown kind", []byte(`{"apiVersion":"0.0.1","kind":"rekord","spec":{}}`), 400, "entry-kind"},
		{"unsupported version", []byte(`{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}`), 400, "entry-kind"},
		{"intoto 0.0.1", []byte(`{"apiVersion":"0.0.1","kind":"intoto","spec":{}}`), 400, "entry-kind"},
		{"hashedrekord missing signature", []byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"00"}}}}`), 400, "entry-"},
		{"hashedrekord signed by another key", badHashed, 400, "entry-validation"},
		{"dsse signed by another key", badDSSE, 400, "entry-validation"},
		{"dsse without verifiers", []byte(`{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{"envelope":"{}","verifiers":[]}}}`), 400, "entry-"},
		{"intoto with a tampered envelope", tamperedIntoto, 400, "entry-validation"},
		{"one byte past the body limit", big[:limits.MaxLogEntryRequestBytes+1], 413, "entry-size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", c.body)
			if status != c.status || !bytes.Contains(raw, []byte(c.check)) {
				t.Errorf("got %d %s, want %d naming %q", status, raw, c.status, c.check)
			}
		})
	}
	if size, _, _, _ := tl.log.Head(context.Background()); size != 0 {
		t.Fatalf("rejections appended: tree size %d", size)
	}
	// At the body limit exactly, a valid entry is admitted.
	if status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", big[:limits.MaxLogEntryRequestBytes]); status != http.StatusCreated {
		t.Errorf("at the limit: %d %s", status, raw)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/log/entries/" + strings.Repeat("ab", 32), 404},
		{"/api/v1/log/entries/" + strings.Repeat("0", 16) + strings.Repeat("ab", 32), 404},
		{"/api/v1/log/entries/xyz", 400},
		{"/api/v1/log/entries?logIndex=5", 404},
		{"/api/v1/log/entries?logIndex=-1", 400},
		{"/api/v1/log/proof?firstSize=0&lastSize=1", 400},
		{"/api/v1/log/proof?firstSize=2&lastSize=1", 400},
		{"/api/v1/log/proof?firstSize=1&lastSize=9", 400},
		{"/tlog/.state/treeState", 404},
		{"/tlog/tile/", 404},
	} {
		if status, _, raw := do(t, http.MethodGet, tl.url+c.path, nil); status != c.status {
			t.Errorf("GET %s: %d %s, want %d", c.path, status, raw, c.status)
		}
	}
}

// TestTilesAPI follows the log as a witness would: C2SP checkpoint under
// the log key, then an inclusion proof built from tiles over HTTP.
func TestTilesAPI(t *testing.T) {
	tl := openLog(t, t.TempDir())
	var leaves [][]byte
	for i := range 3 {
		status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", hashedrekord(signer, []byte{byte(i)}))
		if status != http.StatusCreated {
			t.Fatal(status, string(raw))
		}
		_, e := one(t, raw)
		body, _ := base64.StdEncoding.DecodeString(e.Body)
		leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf(body))
	}
	sv, _ := signature.LoadVerifier(tl.log.PublicKey(), crypto.SHA256)
	nv, err := rtnote.NewNoteVerifier(tl.log.TilesOrigin(), sv)
	if err != nil {
		t.Fatal(err)
	}
	fetcher, err := client.NewHTTPFetcher(mustURL(t, tl.url+"/tlog/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var cp *log.Checkpoint
	deadline := time.Now().Add(5 * time.Second)
	for {
		cp, _, _, err = client.FetchCheckpoint(context.Background(), fetcher.ReadCheckpoint, nv, tl.log.TilesOrigin())
		if err == nil && cp.Size == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint: %v %+v", err, cp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pb, err := client.NewProofBuilder(context.Background(), cp.Size, fetcher.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for i, leaf := range leaves {
		p, err := pb.InclusionProof(context.Background(), uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), cp.Size, leaf, p, cp.Hash); err != nil {
			t.Errorf("leaf %d: %v", i, err)
		}
	}
	// The v1 head and the C2SP checkpoint agree on the root.
	_, root, _, err := tl.log.Head(context.Background())
	if err != nil || !bytes.Equal(root, cp.Hash) {
		t.Errorf("v1 root %x, tiles root %x (%v)", root, cp.Hash, err)
	}
}

// TestReopenRepairsIndex cuts the index short, as a crash would, and
// checks that Open completes it from tessera's entry bundles.
func TestReopenRepairsIndex(t *testing.T) {
	dir := t.TempDir()
	tl := openLog(t, dir)
	var uuids []string
	var bodies [][]byte
	for i := range 3 {
		bodies = append(bodies, hashedrekord(signer, []byte{'r', byte(i)}))
		status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries", bodies[i])
		if status != http.StatusCreated {
			t.Fatal(status, string(raw))
		}
		u, _ := one(t, raw)
		uuids = append(uuids, u)
	}
	treeID := tl.log.TreeID()
	tl.close()
	if err := os.Truncate(filepath.Join(dir, tlog.IndexFile), 40); err != nil {
		t.Fatal(err)
	}
	tl2 := openLog(t, dir)
	if tl2.log.TreeID() != treeID {
		t.Fatal("tree ID changed")
	}
	for _, u := range uuids {
		if status, _, raw := do(t, http.MethodGet, tl2.url+"/api/v1/log/entries/"+u, nil); status != http.StatusOK {
			t.Errorf("GET %s after repair: %d %s", u, status, raw)
		}
	}
	if status, _, _ := do(t, http.MethodPost, tl2.url+"/api/v1/log/entries", bodies[0]); status != http.StatusConflict {
		t.Errorf("duplicate after restart: %d, want 409", status)
	}
}
