package verify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

var fuzzTarball = []byte("fuzz tarball")

const fuzzPackageJSON = `{"repository":"https://github.com/octo-org/octo-pkg"}`

func fuzzVerifier(t testing.TB, s *verifytest.Sigstore) *Verifier {
	t.Helper()
	v, err := New(Config{
		TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: s.TrustedRootJSON()}},
		Policy:       Policy{Default: Rules{CommitCheck: CommitOff}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// FuzzVerify feeds arbitrary bytes as the bundle of a publication. Verify
// must never panic, must fail only with a *provenance.CheckError, and may
// accept only a bundle that verifies as a whole.
func FuzzVerify(f *testing.F) {
	s := verifytest.New(f)
	v := fuzzVerifier(f, s)
	for _, mt := range []string{verifytest.MediaTypeV01, verifytest.MediaTypeV02, verifytest.MediaTypeV03} {
		f.Add(s.Sign(f, verifytest.Job{}, "octo-pkg", "1.0.0", fuzzTarball, verifytest.Options{MediaType: mt}))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"tlogEntries":[{}]},"dsseEnvelope":{}}`))
	f.Fuzz(func(t *testing.T, bundle []byte) {
		in := Input{Name: "octo-pkg", Version: "1.0.0", Tarball: fuzzTarball, PackageJSON: json.RawMessage(fuzzPackageJSON), Bundle: bundle}
		res, err := v.Verify(context.Background(), in)
		if err != nil {
			var ce *provenance.CheckError
			if !errors.As(err, &ce) || ce.Check == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(bundle) > 0 && (!res.Provenance || res.TrustRoot != RootPrivate) {
			t.Fatalf("accepted without provenance: %+v", res)
		}
	})
}

// TestMangledBundles flips bytes in every signed part of a valid bundle;
// each change must be rejected.
func TestMangledBundles(t *testing.T) {
	s := verifytest.New(t)
	v := fuzzVerifier(t, s)
	raw := s.Sign(t, verifytest.Job{}, "octo-pkg", "1.0.0", fuzzTarball, verifytest.Options{})
	in := Input{Name: "octo-pkg", Version: "1.0.0", Tarball: fuzzTarball, PackageJSON: json.RawMessage(fuzzPackageJSON), Bundle: raw}
	if _, err := v.Verify(context.Background(), in); err != nil {
		t.Fatalf("valid bundle rejected: %v", err)
	}
	fields := []struct {
		name   string
		stride int
		get    func(*protobundle.Bundle) []byte
	}{
		{"dsse signature", 1, func(b *protobundle.Bundle) []byte { return b.GetDsseEnvelope().GetSignatures()[0].GetSig() }},
		{"statement", 7, func(b *protobundle.Bundle) []byte { return b.GetDsseEnvelope().GetPayload() }},
		{"certificate", 11, func(b *protobundle.Bundle) []byte { return b.GetVerificationMaterial().GetCertificate().GetRawBytes() }},
		{"SET", 1, func(b *protobundle.Bundle) []byte {
			return b.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionPromise().GetSignedEntryTimestamp()
		}},
		{"canonicalized body", 17, func(b *protobundle.Bundle) []byte {
			return b.GetVerificationMaterial().GetTlogEntries()[0].GetCanonicalizedBody()
		}},
		{"root hash", 1, func(b *protobundle.Bundle) []byte {
			return b.GetVerificationMaterial().GetTlogEntries()[0].GetInclusionProof().GetRootHash()
		}},
	}
	for _, fld := range fields {
		t.Run(fld.name, func(t *testing.T) {
			pb := new(protobundle.Bundle)
			if err := protojson.Unmarshal(raw, pb); err != nil {
				t.Fatal(err)
			}
			buf := fld.get(pb)
			if len(buf) == 0 {
				t.Fatal("empty field")
			}
			for i := 0; i < len(buf); i += fld.stride {
				buf[i] ^= 0x01
				mangled, err := protojson.Marshal(pb)
				buf[i] ^= 0x01
				if err != nil {
					t.Fatal(err)
				}
				in := in
				in.Bundle = mangled
				if _, err := v.Verify(context.Background(), in); err == nil {
					t.Fatalf("byte %d flipped: accepted", i)
				}
			}
		})
	}
}
