package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	jsoncanonicalizer "github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/realworld"
)

// BenchmarkPublicGood compares one Verify of the real sigstore@2.0.0 bundle
// (commit check off) with sigstore-go's bare Verify of the same bundle:
// bundle parse plus (*verify.Verifier).Verify with a verifier built once,
// the same verifier options and the tarball's digest. Report the ratio
// Provenant/sigstore-go.
func BenchmarkPublicGood(b *testing.B) {
	tarball, raw := realworld.SigstoreJSTarball(b), realworld.SigstoreJSBundle(b)
	b.Run("provenant", func(b *testing.B) {
		v := newPublicGoodVerifier(b, Policy{})
		in := Input{Name: "sigstore", Version: "2.0.0", Tarball: tarball, PackageJSON: json.RawMessage(sigstorePackageJSON), Bundle: raw}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sigstore-go", func(b *testing.B) {
		tr, err := root.NewTrustedRootFromJSON(realworld.PublicGoodTrustedRoot(b))
		if err != nil {
			b.Fatal(err)
		}
		sv, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1), sgverify.WithSignedCertificateTimestamps(1))
		if err != nil {
			b.Fatal(err)
		}
		benchSigstoreGo(b, sv, raw, tarball)
	})
}

// BenchmarkTrustServices compares one Verify of a bundle signed through the
// embedded trust services (commit check off) with the raw ECDSA P-256
// verifications that bundle needs, digests precomputed: the DSSE signature,
// the SET, the checkpoint signature, the leaf certificate's signature by
// the intermediate and the intermediate's by the root; and, in between,
// with sigstore-go's bare Verify. Report the ratios Provenant/raw and
// sigstore-go/raw.
func BenchmarkTrustServices(b *testing.B) {
	f := newTrustFixture(b)
	tarball := []byte("octo-pkg 1.0.0 tarball bytes")
	raw := f.sign(b, f.spec(f.commit), "octo-pkg", "1.0.0", tarball)
	b.Run("provenant", func(b *testing.B) {
		v := f.verifier(b, CommitOff)
		in := Input{Name: "octo-pkg", Version: "1.0.0", Tarball: tarball, PackageJSON: json.RawMessage(octoPackageJSON), Bundle: raw}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sigstore-go", func(b *testing.B) {
		sv, err := sgverify.NewVerifier(f.env.TrustedRoot, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
		if err != nil {
			b.Fatal(err)
		}
		benchSigstoreGo(b, sv, raw, tarball)
	})
	b.Run("raw-ecdsa", func(b *testing.B) {
		checks := rawChecks(b, raw, f.env.TrustedRoot)
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range checks {
				if !ecdsa.VerifyASN1(c.key, c.digest, c.sig) {
					b.Fatalf("%s does not verify", c.name)
				}
			}
		}
	})
}

type ecdsaCheck struct {
	name   string
	key    *ecdsa.PublicKey
	digest []byte
	sig    []byte
}

// rawChecks extracts the ECDSA verifications a Rekor v1 DSSE bundle needs.
func rawChecks(b testing.TB, raw []byte, tr *root.TrustedRoot) []ecdsaCheck {
	b.Helper()
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		b.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pb.GetVerificationMaterial().GetCertificate().GetRawBytes())
	if err != nil {
		b.Fatal(err)
	}
	ca := tr.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	inter := ca.Intermediates[0]
	tle := pb.GetVerificationMaterial().GetTlogEntries()[0]
	logKey := tr.RekorLogs()[hex.EncodeToString(tle.GetLogId().GetKeyId())].PublicKey.(*ecdsa.PublicKey)
	env := pb.GetDsseEnvelope()

	certDigest := func(c *x509.Certificate) []byte {
		var h crypto.Hash
		switch c.SignatureAlgorithm {
		case x509.ECDSAWithSHA256:
			h = crypto.SHA256
		case x509.ECDSAWithSHA384:
			h = crypto.SHA384
		default:
			b.Fatalf("unexpected %v", c.SignatureAlgorithm)
		}
		hh := h.New()
		hh.Write(c.RawTBSCertificate)
		return hh.Sum(nil)
	}
	pae := sha256.Sum256(dsse.PAE(env.GetPayloadType(), env.GetPayload()))
	setPayload, err := json.Marshal(map[string]any{
		"body": base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()), "integratedTime": tle.GetIntegratedTime(),
		"logIndex": tle.GetLogIndex(), "logID": hex.EncodeToString(tle.GetLogId().GetKeyId()),
	})
	if err != nil {
		b.Fatal(err)
	}
	canon, err := jsoncanonicalizer.Transform(setPayload)
	if err != nil {
		b.Fatal(err)
	}
	setDigest := sha256.Sum256(canon)
	// A checkpoint is a signed note: the text up to the blank line, then
	// "— <origin> <base64(4-byte key hash || signature)>".
	cp := tle.GetInclusionProof().GetCheckpoint().GetEnvelope()
	text, sigs, ok := strings.Cut(cp, "\n\n")
	if !ok {
		b.Fatal("checkpoint without signatures")
	}
	fields := strings.Fields(strings.SplitN(sigs, "\n", 2)[0])
	noteSig, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil {
		b.Fatal(err)
	}
	cpDigest := sha256.Sum256([]byte(text + "\n"))
	checks := []ecdsaCheck{
		{"dsse", leaf.PublicKey.(*ecdsa.PublicKey), pae[:], env.GetSignatures()[0].GetSig()},
		{"set", logKey, setDigest[:], tle.GetInclusionPromise().GetSignedEntryTimestamp()},
		{"checkpoint", logKey, cpDigest[:], noteSig[4:]},
		{"leaf", inter.PublicKey.(*ecdsa.PublicKey), certDigest(leaf), leaf.Signature},
		{"intermediate", ca.Root.PublicKey.(*ecdsa.PublicKey), certDigest(inter), inter.Signature},
	}
	for _, c := range checks {
		if !ecdsa.VerifyASN1(c.key, c.digest, c.sig) {
			b.Fatalf("%s: extracted check does not verify", c.name)
		}
	}
	return checks
}

// benchSigstoreGo times what a bare sigstore-go caller does per bundle:
// parse it, then Verify it against the tarball's sha512 with a verifier
// built once.
func benchSigstoreGo(b *testing.B, sv *sgverify.Verifier, raw, tarball []byte) {
	b.ReportAllocs()
	for b.Loop() {
		var bun bundle.Bundle
		if err := bun.UnmarshalJSON(raw); err != nil {
			b.Fatal(err)
		}
		digest := sha512.Sum512(tarball)
		if _, err := sv.Verify(&bun, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", digest[:]), sgverify.WithoutIdentitiesUnsafe())); err != nil {
			b.Fatal(err)
		}
	}
}
