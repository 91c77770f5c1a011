// Package verifytest signs npm provenance bundles in memory for tests of
// the registry's verification: a Fulcio-like CA that issues leaf
// certificates carrying GitHub Actions' Fulcio extensions, and sigstore-go's
// VirtualSigstore as the transparency log (real dsse 0.0.1 entries with a
// signed entry timestamp, an inclusion proof and a signed checkpoint).
//
// The bundles are real: sigstore-go verifies them against
// [Sigstore.TrustedRootJSON]. Tests that need the embedded trust services
// over HTTP use trust/trusttest instead; this package is for fast unit
// tests, for mangling every part of a bundle, and for benchmarks.
package verifytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/provenant/provenant/provenance"
)

// Bundle media types.
const (
	MediaTypeV01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	MediaTypeV02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
	MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// A Sigstore is an in-memory CA and transparency log.
type Sigstore struct {
	caRoot, caIntermediate *x509.Certificate
	caKey                  *ecdsa.PrivateKey
	log                    *ca.VirtualSigstore
	logID                  []byte
	trustedRoot            []byte
}

// New creates a Sigstore with a fresh CA and log.
func New(t testing.TB) *Sigstore {
	t.Helper()
	s, err := NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// NewSigstore is New without a testing.TB.
func NewSigstore() (*Sigstore, error) {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		return nil, err
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		return nil, err
	}
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	logIDHex, err := vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	logID, err := hex.DecodeString(logIDHex)
	if err != nil {
		return nil, err
	}
	logKey := vs.RekorLogs()[logIDHex].PublicKey
	s := &Sigstore{caRoot: rootCert, caIntermediate: inter, caKey: interKey, log: vs, logID: logID}
	start := time.Now().Add(-time.Hour)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: rootCert, Intermediates: []*x509.Certificate{inter}, ValidityPeriodStart: start, URI: "https://fulcio.localhost",
		}},
		nil, nil,
		map[string]*root.TransparencyLog{logIDHex: {
			BaseURL: "https://rekor.localhost", ID: logID, ValidityPeriodStart: start,
			HashFunc: crypto.SHA256, PublicKey: logKey, SignatureHashFunc: crypto.SHA256,
		}})
	if err != nil {
		return nil, err
	}
	if s.trustedRoot, err = tr.MarshalJSON(); err != nil {
		return nil, err
	}
	return s, nil
}

// TrustedRootJSON returns the trusted_root.json naming the CA and the log.
func (s *Sigstore) TrustedRootJSON() []byte { return s.trustedRoot }

// A Job is the GitHub Actions job whose identity a certificate carries and
// whose environment the statement is built from.
type Job struct {
	Repository        string // owner/repo; default octo-org/octo-pkg
	Workflow          string // default .github/workflows/release.yml
	Ref               string // default refs/heads/main
	SHA               string // default 40 x "a"
	RunnerEnvironment string // default github-hosted
	Visibility        string // default public
	Environment       string // deployment environment, optional
	Issuer            string // default https://token.actions.githubusercontent.com
}

func (j Job) withDefaults() Job {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&j.Repository, "octo-org/octo-pkg")
	def(&j.Workflow, ".github/workflows/release.yml")
	def(&j.Ref, "refs/heads/main")
	def(&j.SHA, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	def(&j.RunnerEnvironment, "github-hosted")
	def(&j.Visibility, "public")
	def(&j.Issuer, "https://token.actions.githubusercontent.com")
	return j
}

// RepositoryURL returns https://github.com/<Repository>.
func (j Job) RepositoryURL() string { return "https://github.com/" + j.withDefaults().Repository }

// Env returns the GitHub Actions environment npm reads for this job.
func (j Job) Env() map[string]string {
	j = j.withDefaults()
	return map[string]string{
		"CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": j.Repository,
		"GITHUB_WORKFLOW_REF": j.Repository + "/" + j.Workflow + "@" + j.Ref,
		"GITHUB_EVENT_NAME":   "push", "GITHUB_REPOSITORY_ID": "1001", "GITHUB_REPOSITORY_OWNER_ID": "2002",
		"GITHUB_REF": j.Ref, "GITHUB_SHA": j.SHA, "RUNNER_ENVIRONMENT": j.RunnerEnvironment,
		"GITHUB_RUN_ID": "3003", "GITHUB_RUN_ATTEMPT": "1",
	}
}

// Options vary how a bundle is made.
type Options struct {
	// MediaType is the bundle media type; default MediaTypeV03.
	MediaType string
	// Statement replaces the statement built from the job's environment.
	Statement []byte
	// Mutate, when set, edits the bundle before it is serialised.
	Mutate func(*protobundle.Bundle)
	// IntegratedTimeOffset shifts the log's integrated time from now.
	IntegratedTimeOffset time.Duration
	// OtherCA signs the leaf with a CA the trusted root does not know.
	OtherCA bool
}

// Sign builds npm's statement for the job, name, version and tarball and
// returns a signed, logged bundle as JSON.
func (s *Sigstore) Sign(t testing.TB, job Job, name, version string, tarball []byte, opts Options) []byte {
	t.Helper()
	b, err := s.SignBundle(job, name, version, tarball, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SignBundle is Sign without a testing.TB.
func (s *Sigstore) SignBundle(job Job, name, version string, tarball []byte, opts Options) ([]byte, error) {
	job = job.withDefaults()
	statement := opts.Statement
	if statement == nil {
		env := job.Env()
		var err error
		statement, err = provenance.BuildStatement(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, name, version, tarball)
		if err != nil {
			return nil, err
		}
	}
	issuerCert, issuerKey := s.caIntermediate, s.caKey
	if opts.OtherCA {
		r, rk, err := ca.GenerateRootCa()
		if err != nil {
			return nil, err
		}
		if issuerCert, issuerKey, err = ca.GenerateFulcioIntermediate(r, rk); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := leafCertificate(job, now, leafKey, issuerCert, issuerKey)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASignerVerifier(leafKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: signer, Pub: &leafKey.PublicKey})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), provenance.PayloadType, statement)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, err
	}
	integrated := now.Add(opts.IntegratedTimeOffset).Unix()
	entry, err := s.log.GenerateTlogEntry(leaf, env, sig, integrated, true)
	if err != nil {
		return nil, err
	}
	tle := proto.Clone(entry.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	set, err := s.log.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: integrated,
		LogIndex:       tle.GetLogIndex(),
		LogID:          hex.EncodeToString(s.logID),
	})
	if err != nil {
		return nil, err
	}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}

	mediaType := opts.MediaType
	if mediaType == "" {
		mediaType = MediaTypeV03
	}
	vm := &protobundle.VerificationMaterial{TlogEntries: []*protorekor.TransparencyLogEntry{tle}}
	if mediaType == MediaTypeV03 {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: leaf.Raw}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
			Certificates: []*protocommon.X509Certificate{{RawBytes: leaf.Raw}},
		}}
	}
	pb := &protobundle.Bundle{
		MediaType:            mediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: statement, PayloadType: provenance.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sig, Keyid: ""}},
		}},
	}
	if opts.Mutate != nil {
		opts.Mutate(pb)
	}
	return protojson.Marshal(pb)
}

// Fulcio extension OIDs 1.3.6.1.4.1.57264.1.x.
func oid(n int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n} }

// leafCertificate issues a ten-minute certificate with the Fulcio
// extensions GitHub Actions' token yields (sigstore-wire.md §3).
func leafCertificate(j Job, now time.Time, key *ecdsa.PrivateKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, error) {
	repoURL := "https://github.com/" + j.Repository
	workflowURI := repoURL + "/" + j.Workflow + "@" + j.Ref
	san, err := url.Parse(workflowURI)
	if err != nil {
		return nil, err
	}
	var exts []pkix.Extension
	add := func(n int, v string) error {
		if v == "" {
			return nil
		}
		der, err := asn1.MarshalWithParams(v, "utf8")
		if err != nil {
			return err
		}
		exts = append(exts, pkix.Extension{Id: oid(n), Value: der})
		return nil
	}
	exts = append(exts, pkix.Extension{Id: oid(1), Value: []byte(j.Issuer)})
	for _, e := range []struct {
		n int
		v string
	}{
		{8, j.Issuer}, {9, workflowURI}, {10, j.SHA}, {11, j.RunnerEnvironment}, {12, repoURL}, {13, j.SHA},
		{14, j.Ref}, {15, "1001"}, {16, "https://github.com/" + ownerOf(j.Repository)}, {17, "2002"},
		{18, workflowURI}, {19, j.SHA}, {20, "push"}, {21, repoURL + "/actions/runs/3003/attempts/1"},
		{22, j.Visibility}, {23, j.Environment},
	} {
		if err := add(e.n, e.v); err != nil {
			return nil, err
		}
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now.Add(-time.Minute),
		NotAfter:        now.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{san},
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("verifytest: leaf certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func ownerOf(repo string) string {
	for i := range len(repo) {
		if repo[i] == '/' {
			return repo[:i]
		}
	}
	return repo
}
