package registry

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
)

// TestLargeTarballStreamed serves a tarball above maxCachedTarballBytes,
// which is streamed from the blob store rather than cached: the bytes,
// Content-Length and Content-Type must be the published ones, twice in a
// row (the pooled copy buffer is reused).
func TestLargeTarballStreamed(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	noise := make([]byte, maxCachedTarballBytes+streamBufferBytes+1)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	tgz := makeTarball(t, map[string]string{"package/package.json": pkgJSON("big-pkg", "1.0.0"), "package/blob.bin": string(noise)})
	if len(tgz) <= maxCachedTarballBytes {
		t.Fatalf("tarball of %d bytes would be cached", len(tgz))
	}
	if code, resp, _ := r.do(t, http.MethodPut, "/big-pkg", tok, publishBody(t, "big-pkg", "1.0.0", "latest", tgz, nil)); code != http.StatusCreated {
		t.Fatalf("publish: %d %s", code, resp)
	}
	for i := range 2 {
		resp, err := http.Get(r.URL + "/big-pkg/-/big-pkg-1.0.0.tgz")
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		got.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got.Bytes(), tgz) {
			t.Fatalf("GET %d: status %d, %d bytes equal to the published %d: %v", i, resp.StatusCode, got.Len(), len(tgz), bytes.Equal(got.Bytes(), tgz))
		}
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(tgz)) {
			t.Errorf("Content-Length = %q, want %d", cl, len(tgz))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
}
