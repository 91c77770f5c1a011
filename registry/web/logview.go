package web

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// maxProofHashes caps the hashes of an inclusion or consistency proof: a
// tree of 2^63 leaves needs at most 2*63.
const maxProofHashes = 128

// entryIDPattern accepts a decimal log index, a 64-hex leaf hash or an
// 80-hex Rekor UUID (tree ID + leaf hash).
var entryIDPattern = regexp.MustCompile(`^([0-9]{1,19}|[0-9a-fA-F]{64}|[0-9a-fA-F]{80})$`)

// A ProofError reports that the log served an inclusion or consistency
// proof, or a checkpoint, that does not check out. It is a security event:
// the log is misbehaving or the response was tampered with. It carries the
// evidence.
type ProofError struct {
	// Step names the failed step, e.g. "inclusion" or "consistency".
	Step string
	// Evidence holds the values the step compared.
	Evidence map[string]string
	// Err is the underlying failure.
	Err error
}

// Error names the failed step and its cause.
func (e *ProofError) Error() string {
	return fmt.Sprintf("security error: log %s proof failed: %v", e.Step, e.Err)
}

// Unwrap returns the underlying failure.
func (e *ProofError) Unwrap() error { return e.Err }

// A proofStep is one line of the inclusion check shown on the entry page.
type proofStep struct {
	Label, Detail string
	OK            bool
	// Skipped marks a step that could not run (e.g. no trusted key).
	Skipped bool
}

// A proofReport is the outcome of checking an entry's inclusion against the
// log's latest checkpoint.
type proofReport struct {
	Steps []proofStep
	// Verified is true when every step that ran passed and the entry is
	// proven included in the latest checkpoint's tree.
	Verified bool
	// CheckpointSigned is true when the checkpoint signature was verified
	// with a trusted log key.
	CheckpointSigned bool
	Err              error
}

// checkInclusion verifies that body is in the log: the UUID names its leaf
// hash, the inclusion proof leads from the leaf to the proof's root, the
// latest checkpoint is signed by a trusted log key (when keys are known),
// and the proof's tree is consistent with the checkpoint's.
func checkInclusion(ctx context.Context, uuid string, body []byte, ip *models.InclusionProof, logID string, info *models.LogInfo, tm root.TrustedMaterial, consistency func(ctx context.Context, first, last int64) (*models.ConsistencyProof, error)) proofReport {
	var rep proofReport
	fail := func(label string, err error) proofReport {
		rep.Steps = append(rep.Steps, proofStep{Label: label, Detail: err.Error()})
		rep.Err = err
		return rep
	}
	hasher := rfc6962.DefaultHasher
	leaf := hasher.HashLeaf(body)
	leafHex := hex.EncodeToString(leaf)
	if !strings.HasSuffix(strings.ToLower(uuid), leafHex) {
		return fail("Leaf hash", &ProofError{Step: "leaf", Evidence: map[string]string{"uuid": uuid, "leafHash": leafHex}, Err: errors.New("entry UUID does not end with the leaf hash of its body")})
	}
	rep.Steps = append(rep.Steps, proofStep{Label: "Leaf hash", Detail: "SHA-256(0x00 ‖ body) = " + leafHex + " matches the entry UUID", OK: true})

	if ip == nil || ip.LogIndex == nil || ip.TreeSize == nil || ip.RootHash == nil {
		return fail("Inclusion proof", errors.New("the log returned no inclusion proof for this entry"))
	}
	idx, size := *ip.LogIndex, *ip.TreeSize
	proofRoot, err := decodeHash(*ip.RootHash)
	if err != nil {
		return fail("Inclusion proof", fmt.Errorf("root hash: %w", err))
	}
	hashes, err := decodeHashes(ip.Hashes)
	if err != nil {
		return fail("Inclusion proof", err)
	}
	if idx < 0 || size <= 0 || idx >= size {
		return fail("Inclusion proof", &ProofError{Step: "inclusion", Evidence: map[string]string{"index": strconv.FormatInt(idx, 10), "treeSize": strconv.FormatInt(size, 10)}, Err: errors.New("index outside the tree")})
	}
	if err := proof.VerifyInclusion(hasher, uint64(idx), uint64(size), leaf, hashes, proofRoot); err != nil {
		return fail("Inclusion proof", &ProofError{Step: "inclusion", Evidence: map[string]string{"index": strconv.FormatInt(idx, 10), "treeSize": strconv.FormatInt(size, 10), "rootHash": *ip.RootHash, "leafHash": leafHex}, Err: err})
	}
	rep.Steps = append(rep.Steps, proofStep{Label: "Inclusion proof", OK: true,
		Detail: fmt.Sprintf("%d hashes lead from leaf %d to root %s of a tree of size %d", len(hashes), idx, *ip.RootHash, size)})

	// The latest checkpoint: its signature, and that it matches the log info.
	var cp util.SignedCheckpoint
	if err := cp.UnmarshalText([]byte(*info.SignedTreeHead)); err != nil {
		return fail("Latest checkpoint", fmt.Errorf("checkpoint does not parse: %w", err))
	}
	latestRoot, err := decodeHash(*info.RootHash)
	if err != nil {
		return fail("Latest checkpoint", fmt.Errorf("root hash: %w", err))
	}
	latestSize := *info.TreeSize
	if cp.Size != uint64(latestSize) || !bytes.Equal(cp.Hash, latestRoot) {
		return fail("Latest checkpoint", &ProofError{Step: "checkpoint", Evidence: map[string]string{"checkpoint": *info.SignedTreeHead, "treeSize": strconv.FormatInt(latestSize, 10), "rootHash": *info.RootHash}, Err: errors.New("signed checkpoint disagrees with the log info")})
	}
	switch v, err := logVerifier(tm, logID); {
	case err != nil:
		rep.Steps = append(rep.Steps, proofStep{Label: "Checkpoint signature", Skipped: true, Detail: "not checked: " + err.Error()})
	case !cp.Verify(v):
		return fail("Checkpoint signature", &ProofError{Step: "checkpoint-signature", Evidence: map[string]string{"checkpoint": *info.SignedTreeHead, "logID": logID}, Err: errors.New("checkpoint signature does not verify with the trusted log key")})
	default:
		rep.CheckpointSigned = true
		rep.Steps = append(rep.Steps, proofStep{Label: "Checkpoint signature", OK: true, Detail: "signed by trusted log key " + logID})
	}
	rep.Steps = append(rep.Steps, proofStep{Label: "Latest checkpoint", OK: true, Detail: fmt.Sprintf("%s, tree size %d, root %s", cp.Origin, latestSize, *info.RootHash)})

	// The proof's tree and the checkpoint's tree are the same log.
	switch {
	case size == latestSize:
		if !bytes.Equal(proofRoot, latestRoot) {
			return fail("Consistency", &ProofError{Step: "consistency", Evidence: map[string]string{"proofRoot": *ip.RootHash, "checkpointRoot": *info.RootHash, "treeSize": strconv.FormatInt(size, 10)}, Err: errors.New("two different roots for the same tree size")})
		}
		rep.Steps = append(rep.Steps, proofStep{Label: "Consistency", OK: true, Detail: "the proof is against the latest checkpoint itself"})
	case size < latestSize:
		cons, err := consistency(ctx, size, latestSize)
		if err != nil {
			return fail("Consistency", fmt.Errorf("fetching consistency proof %d → %d: %w", size, latestSize, err))
		}
		ch, err := decodeHashes(cons.Hashes)
		if err != nil {
			return fail("Consistency", err)
		}
		if err := proof.VerifyConsistency(hasher, uint64(size), uint64(latestSize), ch, proofRoot, latestRoot); err != nil {
			return fail("Consistency", &ProofError{Step: "consistency", Evidence: map[string]string{"firstSize": strconv.FormatInt(size, 10), "lastSize": strconv.FormatInt(latestSize, 10), "firstRoot": *ip.RootHash, "lastRoot": *info.RootHash}, Err: err})
		}
		rep.Steps = append(rep.Steps, proofStep{Label: "Consistency", OK: true, Detail: fmt.Sprintf("tree %d is a prefix of tree %d (%d hashes)", size, latestSize, len(ch))})
	default:
		return fail("Consistency", fmt.Errorf("the entry's proof is for tree size %d, newer than the latest checkpoint (%d); reload the page", size, latestSize))
	}
	rep.Verified = true
	return rep
}

// logVerifier finds the trusted key of the log with the given hex log ID.
func logVerifier(tm root.TrustedMaterial, logID string) (signature.Verifier, error) {
	if tm == nil {
		return nil, errors.New("no trusted root is configured for this viewer")
	}
	tl, ok := tm.RekorLogs()[logID]
	if !ok || tl.PublicKey == nil {
		return nil, fmt.Errorf("log %s is not in the trusted root", logID)
	}
	return signature.LoadVerifier(tl.PublicKey, crypto.SHA256)
}

func decodeHash(h string) ([]byte, error) {
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%q is not a hex SHA-256 hash", h)
	}
	return b, nil
}

func decodeHashes(hs []string) ([][]byte, error) {
	if len(hs) > maxProofHashes {
		return nil, fmt.Errorf("proof has %d hashes, more than %d", len(hs), maxProofHashes)
	}
	out := make([][]byte, 0, len(hs))
	for _, h := range hs {
		b, err := decodeHash(h)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// logPageData is the log overview page.
type logPageData struct {
	LogURL     string
	Configured bool
	TreeSize   int64
	RootHash   string
	TreeID     string
	Checkpoint string
	Signed     string
	Problem    string
	Recent     []recentEntry
}

// A recentEntry is one line of the log page's list of latest entries.
type recentEntry struct {
	Index          int64
	Kind           string
	IntegratedTime time.Time
	SAN            string
}

// recentEntryCount is how many of the latest entries the log page lists.
const recentEntryCount = 10

func (p *Pages) logPage(c echo.Context) error {
	ctx := c.Request().Context()
	d := logPageData{Configured: p.rekor != nil}
	if p.rekor == nil {
		return p.render(c, http.StatusOK, "log", "Transparency log", d)
	}
	d.LogURL = p.rekor.base.String()
	info, err := p.rekor.info(ctx)
	if err != nil {
		slog.WarnContext(ctx, "reading log info", slog.Any("error", err))
		d.Problem = "The log could not be read: " + err.Error()
		return p.render(c, http.StatusBadGateway, "log", "Transparency log", d)
	}
	d.TreeSize, d.RootHash, d.Checkpoint = *info.TreeSize, *info.RootHash, *info.SignedTreeHead
	if info.TreeID != nil {
		d.TreeID = *info.TreeID
	}
	d.Signed = "not checked: no trusted root is configured for this viewer"
	if p.cfg.TrustedMaterial != nil {
		d.Signed = checkpointSignedBy(p.cfg.TrustedMaterial, *info.SignedTreeHead)
	}
	for i := d.TreeSize - 1; i >= 0 && i >= d.TreeSize-recentEntryCount; i-- {
		_, e, err := p.rekor.entry(ctx, strconv.FormatInt(i, 10))
		if err != nil {
			break
		}
		re := recentEntry{Index: i}
		if e.IntegratedTime != nil {
			re.IntegratedTime = time.Unix(*e.IntegratedTime, 0)
		}
		if body, err := entryBodyBytes(e); err == nil {
			if eb, err := parseEntryBody(body); err == nil {
				re.Kind = eb.Kind
				if len(eb.Signatures) > 0 {
					if v := parseVerifier(eb.Signatures[0].Verifier); v.Cert != nil {
						re.SAN = v.Cert.SAN
					}
				}
			}
		}
		d.Recent = append(d.Recent, re)
	}
	return p.render(c, http.StatusOK, "log", "Transparency log", d)
}

// checkpointSignedBy says which trusted log key, if any, signed a checkpoint.
func checkpointSignedBy(tm root.TrustedMaterial, note string) string {
	var cp util.SignedCheckpoint
	if err := cp.UnmarshalText([]byte(note)); err != nil {
		return "checkpoint does not parse: " + err.Error()
	}
	for id, tl := range tm.RekorLogs() {
		v, err := signature.LoadVerifier(tl.PublicKey, crypto.SHA256)
		if err == nil && cp.Verify(v) {
			return "verified with trusted log key " + id
		}
	}
	return "NOT signed by any log key in the trusted root"
}

// logLookup turns the lookup form (?q=) into an entry page URL.
func (p *Pages) logLookup(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return c.Redirect(http.StatusSeeOther, "/-/log")
	}
	return c.Redirect(http.StatusSeeOther, logEntryPath(q))
}

// entryPageData is the log entry page.
type entryPageData struct {
	LogURL         string
	UUID           string
	Index          int64
	IntegratedTime time.Time
	LogID          string
	Kind           string
	APIVersion     string
	LeafHash       string
	Hashes         []labeled
	Signatures     []signatureView
	Proof          proofReport
	BodyProblem    string
	Body           string
}

// A signatureView is one signature of an entry with its verifier.
type signatureView struct {
	Signature string
	verifierView
}

func (p *Pages) logEntry(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if p.rekor == nil {
		return p.notFound(c, "This registry has no transparency log configured.", "The operator sets the log URL in the registry configuration.")
	}
	if !entryIDPattern.MatchString(id) {
		return p.notFound(c, fmt.Sprintf("%q is not a log index or entry UUID.", id), "Use a decimal index such as 0, or a 64- or 80-digit hex UUID.")
	}
	uuid, e, err := p.rekor.entry(ctx, id)
	if errors.Is(err, errLogNotFound) {
		hint := "Check the index or UUID."
		if info, ierr := p.rekor.info(ctx); ierr == nil {
			hint = fmt.Sprintf("The log has %d entries, indexes 0 to %d.", *info.TreeSize, *info.TreeSize-1)
		}
		return p.notFound(c, fmt.Sprintf("The log at %s has no entry %s.", p.rekor.base, id), hint)
	}
	if err != nil {
		return p.serverError(c, "could not read the transparency log", err)
	}
	d := entryPageData{LogURL: p.rekor.base.String(), UUID: uuid}
	if e.LogIndex != nil {
		d.Index = *e.LogIndex
	}
	if e.IntegratedTime != nil {
		d.IntegratedTime = time.Unix(*e.IntegratedTime, 0)
	}
	if e.LogID != nil {
		d.LogID = *e.LogID
	}
	body, err := entryBodyBytes(e)
	if err != nil {
		d.BodyProblem = err.Error()
		return p.render(c, http.StatusOK, "entry", "Log entry "+id, d)
	}
	d.Body = string(body)
	d.LeafHash = hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(body))
	if eb, err := parseEntryBody(body); err != nil {
		d.BodyProblem = err.Error()
	} else {
		d.Kind, d.APIVersion, d.Hashes = eb.Kind, eb.APIVersion, eb.Hashes
		for _, s := range eb.Signatures {
			d.Signatures = append(d.Signatures, signatureView{Signature: s.Signature, verifierView: parseVerifier(s.Verifier)})
		}
	}
	info, err := p.rekor.info(ctx)
	if err != nil {
		d.Proof = proofReport{Err: err, Steps: []proofStep{{Label: "Latest checkpoint", Detail: "could not read the log info: " + err.Error()}}}
	} else {
		var ip *models.InclusionProof
		if e.Verification != nil {
			ip = e.Verification.InclusionProof
		}
		d.Proof = checkInclusion(ctx, uuid, body, ip, d.LogID, info, p.cfg.TrustedMaterial, p.rekor.consistency)
	}
	var pe *ProofError
	if errors.As(d.Proof.Err, &pe) {
		slog.ErrorContext(ctx, "security: transparency log served a proof that does not verify", slog.String("log", d.LogURL), slog.String("uuid", uuid), slog.String("step", pe.Step), slog.Any("evidence", pe.Evidence), slog.Any("error", pe.Err))
	}
	return p.render(c, http.StatusOK, "entry", "Log entry "+strconv.FormatInt(d.Index, 10), d)
}

// entryBodyBytes decodes an entry's base64 body.
func entryBodyBytes(e models.LogEntryAnon) ([]byte, error) {
	s, ok := e.Body.(string)
	if !ok {
		return nil, errors.New("entry body is not a base64 string")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("entry body is not base64: %w", err)
	}
	return b, nil
}
