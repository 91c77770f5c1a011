package provenance_test

import (
	"testing"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

func BenchmarkBuildStatement(b *testing.B) {
	for _, c := range npmtest.Cases()[:1] {
		env := lookup(c.Env)
		tarball := make([]byte, 64<<10)
		b.SetBytes(int64(len(tarball)))
		for b.Loop() {
			if _, err := provenance.BuildStatement(env, c.PackageName, c.Version, tarball); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParseStatement parses the real sigstore@2.0.0 statement into a
// Summary; BenchmarkProtojsonStatement is the baseline, the protojson
// decoding sigstore-go itself does for a DSSE statement
// (bundle.Envelope.Statement), which ParseStatement builds on.
func BenchmarkParseStatement(b *testing.B) {
	payload, _ := realBundle(b)
	for b.Loop() {
		if _, err := provenance.ParseStatement(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProtojsonStatement(b *testing.B) {
	payload, _ := realBundle(b)
	for b.Loop() {
		if err := protojson.Unmarshal(payload, &intoto.Statement{}); err != nil {
			b.Fatal(err)
		}
	}
}
