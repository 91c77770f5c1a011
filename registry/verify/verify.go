package verify

import (
	"context"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify/commit"
)

// Bundle media types the registry accepts: every version npm has uploaded
// (npm-protocol.md §3.1).
var supportedMediaTypes = []string{
	"application/vnd.dev.sigstore.bundle+json;version=0.1",
	"application/vnd.dev.sigstore.bundle+json;version=0.2",
	"application/vnd.dev.sigstore.bundle+json;version=0.3",
	"application/vnd.dev.sigstore.bundle.v0.3+json",
}

// Transparency log entry kinds the registry accepts, as kind/version.
var supportedEntryKinds = []string{"intoto/0.0.2", "dsse/0.0.1", "hashedrekord/0.0.1", "hashedrekord/0.0.2"}

// oidDeploymentEnvironment is the Fulcio extension 1.3.6.1.4.1.57264.1.23,
// which sigstore-go does not parse.
var oidDeploymentEnvironment = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 23}

// A Verifier runs the registry's publish-time provenance checks. It is
// built once by [New], holds parsed trusted roots and sigstore-go
// verifiers, and is safe for concurrent use.
type Verifier struct {
	roots   []*trustedRoot
	policy  Policy
	commits commit.Checker
	now     func() time.Time
}

type trustedRoot struct {
	name       string
	material   root.TrustedMaterial
	verifier   *sgverify.Verifier
	requireSCT bool
}

// New validates cfg, loads and parses its trusted roots once, and builds
// the verifier.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{policy: cfg.Policy, commits: cfg.CommitChecker, now: cfg.Clock}
	if v.now == nil {
		v.now = time.Now
	}
	for _, rc := range cfg.TrustedRoots {
		tm, err := rc.load()
		if err != nil {
			return nil, err
		}
		requireSCT := len(tm.CTLogs()) > 0
		if rc.RequireSCT != nil {
			requireSCT = *rc.RequireSCT
		}
		// sigstore-wire.md §8.3: one verified log entry, and an observer
		// timestamp (the log's SET-backed integrated time, or an RFC 3161
		// timestamp for Rekor v2) at which the certificate must be valid.
		// The predicate is read from the verified payload by
		// provenance.ParseStatement, so sigstore-go need not build it.
		opts := []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1), sgverify.WithoutStatementPredicate()}
		if requireSCT {
			opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
		}
		sv, err := sgverify.NewVerifier(tm, opts...)
		if err != nil {
			return nil, fmt.Errorf("verify: trusted root %s: %w", rc.Name, err)
		}
		v.roots = append(v.roots, &trustedRoot{name: rc.Name, material: tm, verifier: sv, requireSCT: requireSCT})
	}
	if v.commits == nil {
		c, err := commit.New(cfg.Commit, nil, os.Getenv)
		if err != nil {
			return nil, err
		}
		v.commits = c
	}
	return v, nil
}

// Policy returns the effective policy rules for package name.
func (v *Verifier) Policy(name string) Effective { return v.policy.For(name) }

// run accumulates the check records of one verification.
type run struct{ res *Result }

func (r *run) pass(name, detail string) {
	r.res.Checks = append(r.res.Checks, CheckRecord{Name: name, Status: StatusVerified, Detail: detail})
}

func (r *run) record(name, status, detail string) {
	r.res.Checks = append(r.res.Checks, CheckRecord{Name: name, Status: status, Detail: detail})
}

// fail records err's check as failed and returns err as a *CheckError.
func (r *run) fail(err error) (*Result, error) {
	var ce *provenance.CheckError
	if !errors.As(err, &ce) {
		ce = &provenance.CheckError{Check: "verify", Err: err}
		err = ce
	}
	r.res.Checks = append(r.res.Checks, CheckRecord{Name: ce.Check, Status: StatusFailed, Detail: err.Error()})
	return r.res, err
}

// Verify runs the checks on one version, in the order the package
// documentation lists them, and stops at the first failure. It returns the
// Result to record with the accepted version and a nil error, or a non-nil
// error that is (or wraps) a *provenance.CheckError naming the failed check;
// the Result returned alongside an error lists the checks run so far, the
// failed one last, for logs only.
func (v *Verifier) Verify(ctx context.Context, in Input) (*Result, error) {
	rules := v.policy.For(in.Name)
	r := &run{res: &Result{VerifiedAt: v.now().UTC(), Checks: []CheckRecord{}}}

	if len(in.Bundle) == 0 {
		if rules.ProvenanceRequired {
			return r.fail(&provenance.CheckError{Check: "provenance-required", Expected: "a provenance bundle", Actual: "none"})
		}
		r.record("provenance-required", StatusOff, "published without provenance; policy does not require it")
		return r.res, nil
	}

	// Step 2: the bundle.
	b, pb, entries, err := parseBundle(in.Bundle)
	if err != nil {
		return r.fail(err)
	}
	r.res.BundleMediaType = pb.GetMediaType()
	r.pass("bundle-media-type", pb.GetMediaType())
	env := pb.GetDsseEnvelope()
	if env == nil {
		return r.fail(&provenance.CheckError{Check: "bundle-content", Expected: "DSSE envelope", Actual: "message signature"})
	}
	if env.GetPayloadType() != provenance.PayloadType {
		return r.fail(&provenance.CheckError{Check: "payload-type", Expected: provenance.PayloadType, Actual: env.GetPayloadType()})
	}
	kinds, err := checkEntryKinds(entries)
	if err != nil {
		return r.fail(err)
	}
	r.pass("tlog-entry-kind", kinds)
	vc, err := b.VerificationContent()
	if err != nil {
		return r.fail(&provenance.CheckError{Check: "bundle-parse", Err: err})
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return r.fail(&provenance.CheckError{Check: "signing-certificate", Expected: "a Fulcio certificate", Actual: "a public key"})
	}
	candidates, err := v.candidateRoots(entries, rules)
	if err != nil {
		return r.fail(err)
	}
	entity := &parsedBundle{Bundle: b, entries: entries, vc: vc}

	digest := sha512.Sum512(in.Tarball)
	pol := sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", digest[:]), sgverify.WithoutIdentitiesUnsafe())
	var (
		chosen         *trustedRoot
		vr             *sgverify.VerificationResult
		lastErr        error
		digestMismatch bool
	)
	for _, tr := range candidates {
		res, err := tr.verifier.Verify(entity, pol)
		if err == nil {
			chosen, vr = tr, res
			break
		}
		lastErr = tr.classify(entity, entries, leaf, err)
		if errors.Is(lastErr, errArtifactDigest) {
			// Everything but the subject digest verified: go on to
			// step 3, whose subject check names the mismatch.
			res, err2 := tr.verifier.Verify(entity, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithoutIdentitiesUnsafe()))
			if err2 != nil {
				return r.fail(tr.classify(entity, entries, leaf, err2))
			}
			chosen, vr, digestMismatch = tr, res, true
			break
		}
	}
	if chosen == nil {
		return r.fail(lastErr)
	}
	r.res.TrustRoot = chosen.name
	r.pass("trusted-root", chosen.name)
	entry := firstEntryOf(entries, chosen.material)
	if entry.HasInclusionPromise() {
		r.pass("tlog-set", "")
	}
	if entry.HasInclusionProof() {
		r.pass("tlog-inclusion", "")
		r.pass("tlog-checkpoint", "")
	}
	r.pass("certificate-chain", leaf.Issuer.CommonName)
	if chosen.requireSCT {
		r.pass("certificate-sct", "")
	}
	r.pass("signature", "")
	r.res.LogIndex = entry.LogIndex()
	r.res.LogID = hex.EncodeToString([]byte(entry.LogKeyID()))
	if t := entry.IntegratedTime(); !t.IsZero() {
		r.res.IntegratedTime = t.UTC()
	}
	if vr.Signature == nil || vr.Signature.Certificate == nil {
		return r.fail(&provenance.CheckError{Check: "signing-certificate", Expected: "a Fulcio certificate", Actual: "none"})
	}
	cert := vr.Signature.Certificate
	r.res.Issuer, r.res.SAN = cert.Issuer, cert.SubjectAlternativeName

	// Step 3: the statement and its subject.
	if pt := vr.Statement.GetPredicateType(); pt != provenance.SLSAV1Type && pt != provenance.SLSAV02Type {
		return r.fail(&provenance.CheckError{Check: "predicate-type", Expected: provenance.SLSAV1Type + " or " + provenance.SLSAV02Type, Actual: pt})
	}
	summary, err := provenance.ParseStatement(env.GetPayload())
	if err != nil {
		return r.fail(&provenance.CheckError{Check: "statement-parse", Err: err})
	}
	r.res.Summary = summary
	r.pass("statement-parse", summary.PredicateType)
	if err := provenance.CheckSubject(summary, in.Name, in.Version, in.Tarball); err != nil {
		return r.fail(err)
	}
	if digestMismatch {
		// Unreachable unless the subject check and sigstore-go disagree.
		return r.fail(&provenance.CheckError{Check: "subject-digest", Expected: hex.EncodeToString(digest[:]), Err: lastErr})
	}
	r.pass("subject", summary.Subjects[0].Name)

	// Step 4: identity.
	if !slices.Contains(rules.AllowedIssuers, cert.Issuer) {
		return r.fail(&provenance.CheckError{Check: "issuer-allowed", Expected: strings.Join(rules.AllowedIssuers, " or "), Actual: cert.Issuer})
	}
	r.pass("issuer-allowed", cert.Issuer)
	if err := provenance.CheckCertificate(summary, cert.Extensions); err != nil {
		return r.fail(err)
	}
	r.pass("certificate-statement", "statement agrees with the certificate extensions")

	// Step 5: the package.json repository claim.
	if err := provenance.CheckRepository(in.PackageJSON, cert.SourceRepositoryURI); err != nil {
		return r.fail(err)
	}
	r.pass("repository-url", cert.SourceRepositoryURI)

	// Step 6: the commit.
	target := cert.SourceRepositoryURI + "@" + cert.SourceRepositoryDigest
	switch rules.CommitCheck {
	case CommitOff:
		r.res.CommitStatus = StatusOff
		r.record(commit.CheckName, StatusOff, target)
	default:
		err := v.commits.Check(ctx, cert.SourceRepositoryURI, cert.SourceRepositoryDigest)
		switch {
		case err == nil:
			r.res.CommitStatus = StatusVerified
			r.pass(commit.CheckName, target)
		case rules.CommitCheck == CommitWarn:
			r.res.CommitStatus = StatusUnverified
			r.record(commit.CheckName, StatusUnverified, err.Error())
		default:
			var ce *provenance.CheckError
			if !errors.As(err, &ce) {
				err = &provenance.CheckError{Check: commit.CheckName, Expected: target, Actual: "unknown", Err: err}
			}
			return r.fail(err)
		}
	}

	// Step 7: policy.
	if !allows(rules.RunnerEnvironments, cert.RunnerEnvironment) {
		return r.fail(&provenance.CheckError{Check: "runner-environment", Expected: strings.Join(rules.RunnerEnvironments, " or "), Actual: cert.RunnerEnvironment})
	}
	r.pass("runner-environment", cert.RunnerEnvironment)
	if !allows(rules.RepositoryVisibility, cert.SourceRepositoryVisibilityAtSigning) {
		return r.fail(&provenance.CheckError{Check: "repository-visibility", Expected: strings.Join(rules.RepositoryVisibility, " or "), Actual: cert.SourceRepositoryVisibilityAtSigning})
	}
	r.pass("repository-visibility", cert.SourceRepositoryVisibilityAtSigning)
	if len(rules.TrustedPublishers) > 0 {
		got := TrustedPublisher{
			Repository:  cert.SourceRepositoryURI,
			Workflow:    workflowPath(cert.BuildConfigURI, cert.SourceRepositoryURI),
			Environment: deploymentEnvironment(leaf),
		}
		if !trustedPublisherAllows(rules.TrustedPublishers, got) {
			want := make([]string, len(rules.TrustedPublishers))
			for i, tp := range rules.TrustedPublishers {
				want[i] = tp.String()
			}
			return r.fail(&provenance.CheckError{Check: "trusted-publisher", Expected: strings.Join(want, " or "), Actual: got.String()})
		}
		r.pass("trusted-publisher", got.String())
	}
	r.res.Provenance = true
	return r.res, nil
}

// parsedBundle is a bundle whose log entries and verification content are
// parsed once: sigstore-go asks for them several times per Verify, and
// parsing a Rekor v1 entry is a large part of the cost of verifying.
type parsedBundle struct {
	*bundle.Bundle
	entries []*tlog.Entry
	vc      sgverify.VerificationContent
}

var _ sgverify.SignedEntity = (*parsedBundle)(nil)

// TlogEntries returns the entries parsed once.
func (p *parsedBundle) TlogEntries() ([]*tlog.Entry, error) { return p.entries, nil }

// VerificationContent returns the certificate parsed once.
func (p *parsedBundle) VerificationContent() (sgverify.VerificationContent, error) { return p.vc, nil }

// parseBundle parses raw bundle JSON, checks its media type and structure
// with the rules of sigstore-go's bundle validation, and parses its log
// entries, once.
func parseBundle(raw []byte) (*bundle.Bundle, *protobundle.Bundle, []*tlog.Entry, error) {
	if len(raw) > limits.MaxBundleBytes {
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-size", Expected: "at most " + strconv.Itoa(limits.MaxBundleBytes) + " bytes", Actual: strconv.Itoa(len(raw)) + " bytes"}
	}
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-parse", Err: err}
	}
	mt := pb.GetMediaType()
	if !slices.Contains(supportedMediaTypes, mt) {
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-media-type", Expected: strings.Join(supportedMediaTypes, " or "), Actual: mt}
	}
	// sigstore-go's bundle.NewBundle checks the same rules but parses the
	// log entries to do so; Verify needs them parsed anyway.
	vm := pb.GetVerificationMaterial()
	switch {
	case pb.GetContent() == nil:
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-parse", Err: bundle.ErrMissingBundleContent}
	case vm == nil || vm.GetContent() == nil:
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-parse", Err: bundle.ErrMissingVerificationMaterial}
	}
	b := &bundle.Bundle{Bundle: pb}
	entries, err := b.TlogEntries()
	if err != nil {
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-parse", Err: err}
	}
	v01 := strings.HasSuffix(mt, "version=0.1")
	switch {
	case len(entries) > 0 && v01 && !b.HasInclusionPromise():
		return nil, nil, nil, &provenance.CheckError{Check: "tlog-set", Expected: "an inclusion promise (required in a v0.1 bundle)", Actual: "none"}
	case len(entries) > 0 && !v01 && !b.HasInclusionProof():
		return nil, nil, nil, &provenance.CheckError{Check: "tlog-inclusion", Expected: "an inclusion proof (required from v0.2 bundles on)", Actual: "none"}
	case strings.Contains(mt, "0.3") && vm.GetX509CertificateChain() != nil:
		return nil, nil, nil, &provenance.CheckError{Check: "bundle-parse", Expected: "a certificate (v0.3 bundle)", Actual: "an X.509 certificate chain"}
	}
	return b, pb, entries, nil
}

func checkEntryKinds(entries []*tlog.Entry) (string, error) {
	if len(entries) == 0 {
		return "", &provenance.CheckError{Check: "tlog-entry-kind", Expected: strings.Join(supportedEntryKinds, " or "), Actual: "no log entry"}
	}
	var kinds []string
	for _, e := range entries {
		kv := e.TransparencyLogEntry().GetKindVersion()
		k := kv.GetKind() + "/" + kv.GetVersion()
		if !slices.Contains(supportedEntryKinds, k) {
			return "", &provenance.CheckError{Check: "tlog-entry-kind", Expected: strings.Join(supportedEntryKinds, " or "), Actual: k}
		}
		kinds = append(kinds, k)
	}
	return strings.Join(kinds, ","), nil
}

// candidateRoots returns the configured roots that hold the log of one of
// the entries and that the policy allows, in configuration order.
func (v *Verifier) candidateRoots(entries []*tlog.Entry, rules Effective) ([]*trustedRoot, error) {
	var known, allowed []*trustedRoot
	for _, tr := range v.roots {
		if firstEntryOf(entries, tr.material) == nil {
			continue
		}
		known = append(known, tr)
		if rules.TrustedRoots == nil || slices.Contains(rules.TrustedRoots, tr.name) {
			allowed = append(allowed, tr)
		}
	}
	if len(known) == 0 {
		names := make([]string, len(v.roots))
		for i, tr := range v.roots {
			names[i] = tr.name
		}
		return nil, &provenance.CheckError{Check: "trusted-root", Expected: "a log of " + strings.Join(names, " or "),
			Actual: "log " + hex.EncodeToString([]byte(entries[0].LogKeyID()))}
	}
	if len(allowed) == 0 {
		return nil, &provenance.CheckError{Check: "trusted-root", Expected: strings.Join(rules.TrustedRoots, " or "), Actual: known[0].name}
	}
	return allowed, nil
}

// firstEntryOf returns the first entry whose log tm trusts, or nil.
func firstEntryOf(entries []*tlog.Entry, tm root.TrustedMaterial) *tlog.Entry {
	logs := tm.RekorLogs()
	for _, e := range entries {
		if _, ok := logs[hex.EncodeToString([]byte(e.LogKeyID()))]; ok {
			return e
		}
	}
	return nil
}

// workflowPath extracts the workflow file path from a Build Config URI:
// <repo>/<path>@<ref> on GitHub, <repo>//<path>@<ref> on GitLab.
func workflowPath(buildConfigURI, repo string) string {
	rest, ok := strings.CutPrefix(buildConfigURI, repo+"/")
	if !ok {
		return ""
	}
	rest = strings.TrimPrefix(rest, "/")
	path, _, _ := strings.Cut(rest, "@")
	return path
}

// deploymentEnvironment reads Fulcio extension .1.23 from the leaf.
func deploymentEnvironment(leaf *x509.Certificate) string {
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidDeploymentEnvironment) {
			var s string
			if rest, err := asn1.Unmarshal(ext.Value, &s); err == nil && len(rest) == 0 {
				return s
			}
		}
	}
	return ""
}

func trustedPublisherAllows(list []TrustedPublisher, got TrustedPublisher) bool {
	for _, tp := range list {
		if tp.Repository == got.Repository &&
			(tp.Workflow == "" || tp.Workflow == got.Workflow) &&
			(tp.Environment == "" || tp.Environment == got.Environment) {
			return true
		}
	}
	return false
}

// String renders a trusted publisher as repository[:workflow][ (environment)].
func (tp TrustedPublisher) String() string {
	s := tp.Repository
	if tp.Workflow != "" {
		s += ":" + tp.Workflow
	}
	if tp.Environment != "" {
		s += " (environment " + tp.Environment + ")"
	}
	return s
}
