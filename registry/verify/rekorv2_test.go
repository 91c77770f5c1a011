package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

// TestRekorV2Bundle verifies a bundle whose log entry is a Rekor v2
// hashedrekord 0.0.2 entry, timed by an RFC 3161 timestamp instead of an
// integrated time, signed by sigstore-go's VirtualSigstore. Its leaf
// certificate carries no Fulcio GitHub extensions, so step 2 passes and
// step 4 names the first missing extension.
func TestRekorV2Bundle(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	tarball := []byte("rekor v2 tarball")
	jobEnv := verifytest.Job{}.Env()
	statement, err := provenance.BuildStatement(func(k string) (string, bool) { v, ok := jobEnv[k]; return v, ok }, "octo-pkg", "1.0.0", tarball)
	if err != nil {
		t.Fatal(err)
	}
	entity, err := vs.AttestHashedRekordV2("octo@example.com", IssuerGitHubActions, statement)
	if err != nil {
		t.Fatal(err)
	}
	vc, _ := entity.VerificationContent()
	sc, _ := entity.SignatureContent()
	env := sc.EnvelopeContent().RawEnvelope()
	tss, _ := entity.Timestamps()
	entries, _ := entity.TlogEntries()
	var sigs []*protodsse.Signature
	for _, s := range env.Signatures {
		sigs = append(sigs, &protodsse.Signature{Sig: mustB64(t, s.Sig), Keyid: s.KeyID})
	}
	var stamps []*protocommon.RFC3161SignedTimestamp
	for _, ts := range tss {
		stamps = append(stamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	pb := &protobundle.Bundle{
		MediaType: verifytest.MediaTypeV03,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               []*protorekor.TransparencyLogEntry{entries[0].TransparencyLogEntry()},
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: stamps},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: mustB64(t, env.Payload), PayloadType: env.PayloadType, Signatures: sigs}},
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	v, err := New(Config{
		TrustedRoots: []RootConfig{{Name: "virtual", Material: vs, RequireSCT: &no}},
		Policy:       Policy{Default: Rules{CommitCheck: CommitOff}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), Input{Name: "octo-pkg", Version: "1.0.0", Tarball: tarball,
		PackageJSON: json.RawMessage(`{"repository":"https://github.com/octo-org/octo-pkg"}`), Bundle: raw})
	wantCheck(t, err, "certificate-source-repository")
	if res.TrustRoot != "virtual" || res.Summary == nil {
		t.Fatalf("Result = %+v", res)
	}
	var kinds string
	for _, c := range res.Checks {
		if c.Name == "tlog-entry-kind" {
			kinds = c.Detail
		}
	}
	if kinds != "hashedrekord/0.0.2" {
		t.Errorf("entry kinds = %q", kinds)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
