package schemas_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/schemas"
)

// BenchmarkValidatePublishBody validates a publish body carrying a
// tarball of the largest size the registry accepts; encoding/json's
// Valid over the same bytes is the baseline (the registry must at least
// parse the body once).
func BenchmarkValidatePublishBody(b *testing.B) {
	body := bigBody(b, limits.MaxTarballBytes/4)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := schemas.Validate(schemas.NPMPublishBody, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSONValidPublishBody(b *testing.B) {
	body := bigBody(b, limits.MaxTarballBytes/4)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if !json.Valid(body) {
			b.Fatal("invalid")
		}
	}
}

func bigBody(b *testing.B, n int) []byte {
	tgz := make([]byte, n)
	_, _ = rand.Read(tgz)
	body, err := json.Marshal(map[string]any{
		"_id": "a", "name": "a", "dist-tags": map[string]string{"latest": "1.0.0"},
		"versions": map[string]any{"1.0.0": map[string]any{"name": "a", "version": "1.0.0", "_id": "a@1.0.0",
			"dist": map[string]string{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64)), "shasum": "0000000000000000000000000000000000000000", "tarball": "http://r/a/-/a-1.0.0.tgz"}}},
		"_attachments": map[string]any{"a-1.0.0.tgz": map[string]any{"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": n}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return body
}
