package verify

import (
	"crypto/x509"
	"errors"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/provenant/provenant/provenance"
)

// errArtifactDigest marks a sigstore-go failure caused only by the
// tarball's digest not being among the statement's subjects; step 3's
// subject checks then name the mismatch.
var errArtifactDigest = errors.New("artifact digest not among the statement's subjects")

// Stage prefixes of the errors sigstore-go v1.3.0's (*Verifier).Verify
// returns (pkg/verify/signed_entity.go).
const (
	stageTlog      = "failed to verify log inclusion"
	stageTimestamp = "failed to verify timestamps"
	stageLeaf      = "failed to verify leaf certificate"
	stageSCT       = "failed to verify signed certificate timestamp"
	stageSigner    = "failed to get signature verifier"
	stageSignature = "failed to verify signature"
)

// classify turns a sigstore-go verification failure under root tr into a
// *provenance.CheckError naming the failed check. sigstore-go verifies in
// one call and reports the stage in its error text; where a stage covers
// several checks (the log entry's SET, inclusion proof and checkpoint),
// classify re-runs the individual checks on the failure path only, so
// that accepting a bundle costs no more than sigstore-go's own Verify.
// The sigstore-go error is always wrapped.
func (tr *trustedRoot) classify(b sgverify.SignedEntity, entries []*tlog.Entry, leaf *x509.Certificate, err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, stageTlog):
		return tr.diagnoseTlog(entries, leaf, err)
	case strings.HasPrefix(msg, stageTimestamp):
		return &provenance.CheckError{Check: "observer-timestamp", Err: err}
	case strings.HasPrefix(msg, stageLeaf):
		return &provenance.CheckError{Check: "certificate-chain", Expected: "a chain to a " + tr.name + " certificate authority", Actual: leaf.Issuer.String(), Err: err}
	case strings.HasPrefix(msg, stageSCT):
		return &provenance.CheckError{Check: "certificate-sct", Expected: "a signed certificate timestamp from a " + tr.name + " CT log", Err: err}
	case strings.HasPrefix(msg, stageSignature), strings.HasPrefix(msg, stageSigner):
		if _, err2 := tr.verifier.Verify(b, sgverify.NewPolicy(sgverify.WithoutArtifactUnsafe(), sgverify.WithoutIdentitiesUnsafe())); err2 == nil {
			return &provenance.CheckError{Check: "subject-digest", Err: errors.Join(errArtifactDigest, err)}
		}
		return &provenance.CheckError{Check: "signature", Err: err}
	}
	return &provenance.CheckError{Check: "bundle-verify", Err: err}
}

// diagnoseTlog names what failed in the log stage.
func (tr *trustedRoot) diagnoseTlog(entries []*tlog.Entry, leaf *x509.Certificate, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "integrated time outside certificate validity"):
		actual := ""
		if e := firstEntryOf(entries, tr.material); e != nil {
			actual = e.IntegratedTime().UTC().Format(time.RFC3339)
		}
		return &provenance.CheckError{Check: "certificate-validity",
			Expected: leaf.NotBefore.UTC().Format(time.RFC3339) + " to " + leaf.NotAfter.UTC().Format(time.RFC3339),
			Actual:   actual, Err: err}
	case strings.Contains(msg, "transparency log signature does not match"),
		strings.Contains(msg, "transparency log certificate does not match"),
		strings.Contains(msg, "does not match envelope payload hash"),
		strings.Contains(msg, "does not match artifact"):
		// The entry's signature, certificate or payload hash is not the
		// bundle's: the log entry is for something else.
		return &provenance.CheckError{Check: "tlog-entry-mismatch", Err: err}
	case strings.Contains(msg, "tlog entries"):
		return &provenance.CheckError{Check: "tlog-entry-count", Err: err}
	}
	logs := tr.material.RekorLogs()
	for _, e := range entries {
		if firstEntryOf([]*tlog.Entry{e}, tr.material) == nil {
			continue
		}
		if e.HasInclusionPromise() {
			if setErr := tlog.VerifySET(e, logs); setErr != nil {
				return &provenance.CheckError{Check: "tlog-set", Err: errors.Join(setErr, err)}
			}
		}
		if e.HasInclusionProof() {
			tle := e.TransparencyLogEntry()
			ip := tle.GetInclusionProof()
			leafHash := rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())
			if incErr := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(ip.GetLogIndex()), uint64(ip.GetTreeSize()),
				leafHash, ip.GetHashes(), ip.GetRootHash()); incErr != nil {
				return &provenance.CheckError{Check: "tlog-inclusion", Err: errors.Join(incErr, err)}
			}
			// The Merkle proof holds, so the checkpoint (its signature, or
			// its agreement with the proof's root) is what failed.
			return &provenance.CheckError{Check: "tlog-checkpoint", Err: err}
		}
	}
	return &provenance.CheckError{Check: "tlog-entry", Err: err}
}
