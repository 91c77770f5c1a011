package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	rekorx509 "github.com/sigstore/rekor/pkg/pki/x509"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"                    // registers dsse 0.0.1
	hashedrekord "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // registers hashedrekord 0.0.1
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"                  // registers intoto 0.0.2
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
)

// SupportedKinds lists the entry kinds and versions the log admits.
var SupportedKinds = map[string]string{"dsse": "0.0.1", "hashedrekord": "0.0.1", "intoto": "0.0.2"}

// Errors that imply an HTTP status.
var (
	// ErrDuplicate: an equal entry is already in the log (409).
	ErrDuplicate = errors.New("an equivalent entry already exists in the transparency log")
	// ErrNotFound: no such entry (404).
	ErrNotFound = fmt.Errorf("entry not found: %w", fs.ErrNotExist)
	// ErrBusy: too many entries are waiting (503 with Retry-After).
	ErrBusy = errors.New("the log is busy; retry later")
	// ErrClosed: the log is shutting down (503).
	ErrClosed = fmt.Errorf("%w: the log is shutting down", ErrBusy)
)

// A DuplicateError is ErrDuplicate with the existing entry's UUID.
type DuplicateError struct{ UUID string }

// Error names the existing entry.
func (e *DuplicateError) Error() string {
	return ErrDuplicate.Error() + " with UUID " + e.UUID
}

// Unwrap returns ErrDuplicate.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// An Entry is one log entry with everything a Rekor v1 answer carries.
type Entry struct {
	// UUID is the 16-hex tree ID followed by the 64-hex leaf hash.
	UUID string
	// Body is the canonical entry, the log leaf.
	Body []byte
	// IntegratedTime is when the log accepted the entry (Unix seconds).
	IntegratedTime int64
	// LogIndex is the entry's position.
	LogIndex uint64
	// SET is the signed entry timestamp.
	SET []byte
	// TreeSize, RootHash, Checkpoint and Hashes are the inclusion proof.
	TreeSize   uint64
	RootHash   []byte
	Checkpoint []byte
	Hashes     [][]byte
}

// ParseProposedEntry parses a Rekor v1 proposed entry, admits only
// SupportedKinds, and returns the canonical body after Rekor's validation
// (which verifies the signature with the supplied certificate or key).
// Failures are *provenance.CheckError.
func ParseProposedEntry(ctx context.Context, body []byte) ([]byte, error) {
	if len(body) > limits.MaxLogEntryRequestBytes {
		return nil, &provenance.CheckError{Check: "entry-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxLogEntryRequestBytes), Actual: fmt.Sprintf("%d bytes", len(body))}
	}
	var head struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return nil, &provenance.CheckError{Check: "entry-json", Err: err}
	}
	if want, ok := SupportedKinds[head.Kind]; !ok || head.APIVersion != want {
		return nil, &provenance.CheckError{Check: "entry-kind", Expected: "dsse 0.0.1, hashedrekord 0.0.1 or intoto 0.0.2", Actual: head.Kind + " " + head.APIVersion}
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		return nil, &provenance.CheckError{Check: "entry-json", Err: err}
	}
	if err := pe.Validate(strfmt.Default); err != nil {
		return nil, &provenance.CheckError{Check: "entry-schema", Err: err}
	}
	entry, err := createVersionedEntry(pe)
	if err != nil {
		return nil, &provenance.CheckError{Check: "entry-validation", Err: err}
	}
	leaf, err := canonicalize(ctx, entry)
	if err != nil {
		return nil, &provenance.CheckError{Check: "entry-validation", Err: err}
	}
	if len(leaf) > int(tessera.DefaultEntrySizeLimit) {
		return nil, &provenance.CheckError{Check: "entry-size", Expected: fmt.Sprintf("a canonical entry of at most %d bytes", tessera.DefaultEntrySizeLimit), Actual: fmt.Sprintf("%d bytes", len(leaf))}
	}
	return leaf, nil
}

// createVersionedEntry and canonicalize recover from panics in Rekor's
// type code, which a hostile body must never turn into a crash.
func createVersionedEntry(pe models.ProposedEntry) (e types.EntryImpl, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed entry: %v", r)
		}
	}()
	return types.CreateVersionedEntry(pe)
}

func canonicalize(ctx context.Context, e types.EntryImpl) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed entry: %v", r)
		}
	}()
	if hr, ok := e.(*hashedrekord.V001Entry); ok {
		return canonicalHashedRekord(hr)
	}
	return types.CanonicalizeEntry(ctx, e)
}

// canonicalHashedRekord is Rekor's hashedrekord 0.0.1 Canonicalize
// followed by types.CanonicalizeEntry's RFC 8785 transform, without the
// second signature verification that Canonicalize does: the entry comes
// from types.CreateVersionedEntry, whose Unmarshal has already verified
// the signature over the digest with the given key or certificate. The
// signature and key are parsed by Rekor's pki/x509 and re-encoded by their
// CanonicalValue, exactly as Canonicalize does; TestCanonicalHashedRekord
// and FuzzCanonicalHashedRekord compare the result with Rekor's.
func canonicalHashedRekord(v *hashedrekord.V001Entry) ([]byte, error) {
	obj := v.HashedRekordObj
	if obj.Signature == nil || obj.Signature.PublicKey == nil || obj.Data == nil || obj.Data.Hash == nil {
		return nil, errors.New("hashedrekord entry lacks signature, public key or hash")
	}
	sig, err := rekorx509.NewSignatureWithOpts(bytes.NewReader(obj.Signature.Content), options.WithED25519ph())
	if err != nil {
		return nil, err
	}
	key, err := rekorx509.NewPublicKey(bytes.NewReader(obj.Signature.PublicKey.Content))
	if err != nil {
		return nil, err
	}
	sigContent, err := sig.CanonicalValue()
	if err != nil {
		return nil, err
	}
	keyContent, err := key.CanonicalValue()
	if err != nil {
		return nil, err
	}
	// The RFC 8785 form of Canonicalize's models.Hashedrekord, written
	// directly: keys in sorted order, and no value needs escaping (base64,
	// the algorithm enum and the hex digest, which validation has checked).
	h := obj.Data.Hash
	if h.Algorithm == nil || h.Value == nil || !isAlnum(*h.Algorithm) || !isAlnum(*h.Value) || len(sigContent) == 0 || len(keyContent) == 0 {
		return nil, errors.New("hashedrekord entry has an unexpected hash, signature or key")
	}
	b := make([]byte, 0, 160+base64.StdEncoding.EncodedLen(len(sigContent))+base64.StdEncoding.EncodedLen(len(keyContent))+len(*h.Value))
	b = append(b, `{"apiVersion":"`+hashedrekord.APIVERSION+`","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"`...)
	b = append(b, *h.Algorithm...)
	b = append(b, `","value":"`...)
	b = append(b, *h.Value...)
	b = append(b, `"}},"signature":{"content":"`...)
	b = base64.StdEncoding.AppendEncode(b, sigContent)
	b = append(b, `","publicKey":{"content":"`...)
	b = base64.StdEncoding.AppendEncode(b, keyContent)
	return append(b, `"}}}}`...), nil
}

// isAlnum reports whether s is non-empty ASCII letters and digits only.
func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return s != ""
}

// Add validates a proposed entry and appends it. It returns once the entry
// is integrated, with its inclusion proof. A duplicate is a *DuplicateError.
func (l *Log) Add(ctx context.Context, proposed []byte) (*Entry, error) {
	leaf, err := ParseProposedEntry(ctx, proposed)
	if err != nil {
		return nil, err
	}
	return l.addLeaf(ctx, leaf)
}

func (l *Log) addLeaf(ctx context.Context, leaf []byte) (*Entry, error) {
	var lh [32]byte
	copy(lh[:], rfc6962.DefaultHasher.HashLeaf(leaf))
	l.mu.RLock()
	_, dup := l.byLeaf[lh]
	l.mu.RUnlock()
	if dup {
		return nil, &DuplicateError{UUID: l.uuid(lh[:])}
	}
	now := l.cfg.Now()
	idx, size, err := l.submit(ctx, leaf)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return nil, err
		}
		if errors.Is(err, tessera.ErrPushback) {
			return nil, fmt.Errorf("%w: %v", ErrBusy, err)
		}
		return nil, fmt.Errorf("tlog: append: %w", err)
	}
	if idx.IsDup {
		return nil, &DuplicateError{UUID: l.uuid(lh[:])}
	}
	if err := l.writeRecord(idx.Index, lh, now); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.byLeaf[lh] = idx.Index
	l.mu.Unlock()
	return l.entry(ctx, idx.Index, size, leaf, lh, now.Unix())
}

// entry assembles the answer for entry i at tree size size (an integrated
// size > i), or at the current integrated size when size is 0.
func (l *Log) entry(ctx context.Context, i, size uint64, body []byte, lh [32]byte, integrated int64) (*Entry, error) {
	if size == 0 {
		var err error
		if size, err = l.reader.IntegratedSize(ctx); err != nil {
			return nil, fmt.Errorf("tlog: integrated size: %w", err)
		}
	}
	if size <= i {
		return nil, fmt.Errorf("tlog: entry %d is not integrated (size %d)", i, size)
	}
	pb := l.proofBuilder(size)
	hashes, err := pb.inclusionProof(ctx, i)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof: %w", err)
	}
	head, err := l.headAt(ctx, size, pb)
	if err != nil {
		return nil, err
	}
	// Never hand out a proof that does not verify: that would be the log
	// misbehaving, and it must show here rather than in a client.
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, lh[:], hashes, head.root); err != nil {
		return nil, fmt.Errorf("tlog: security error: inclusion proof for %d at size %d does not verify: %w", i, size, err)
	}
	set, err := l.signEntry(body, integrated, i)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign entry: %w", err)
	}
	return &Entry{
		UUID: l.uuid(lh[:]), Body: body, IntegratedTime: integrated, LogIndex: i, SET: set,
		TreeSize: size, RootHash: head.root, Checkpoint: head.checkpoint, Hashes: hashes,
	}, nil
}

// ByIndex returns entry i with a fresh inclusion proof.
func (l *Log) ByIndex(ctx context.Context, i uint64) (*Entry, error) {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return nil, err
	}
	if i >= size {
		return nil, fmt.Errorf("%w: log index %d (tree size %d)", ErrNotFound, i, size)
	}
	lh, t, err := l.record(i)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: log index %d", ErrNotFound, i)
		}
		return nil, err
	}
	body, err := l.entryBody(ctx, i, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: read entry %d: %w", i, err)
	}
	return l.entry(ctx, i, size, body, lh, t)
}

// ByUUID returns the entry with the given UUID: 64 hex (leaf hash) or 80
// hex (tree ID + leaf hash).
func (l *Log) ByUUID(ctx context.Context, uuid string) (*Entry, error) {
	uuid = strings.ToLower(uuid)
	var hexHash string
	switch len(uuid) {
	case 64:
		hexHash = uuid
	case 80:
		if uuid[:16] != fmt.Sprintf("%016x", l.st.TreeID) {
			return nil, fmt.Errorf("%w: UUID %s names tree %s, this log is %016x", ErrNotFound, uuid, uuid[:16], l.st.TreeID)
		}
		hexHash = uuid[16:]
	default:
		return nil, &provenance.CheckError{Check: "entry-uuid", Expected: "64 or 80 hex digits", Actual: uuid}
	}
	raw, err := hex.DecodeString(hexHash)
	if err != nil {
		return nil, &provenance.CheckError{Check: "entry-uuid", Expected: "64 or 80 hex digits", Actual: uuid}
	}
	var lh [32]byte
	copy(lh[:], raw)
	l.mu.RLock()
	i, ok := l.byLeaf[lh]
	l.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: UUID %s", ErrNotFound, uuid)
	}
	return l.ByIndex(ctx, i)
}

// wireEntry is the value of a Rekor v1 LogEntry map.
type wireEntry struct {
	Body           string       `json:"body"`
	IntegratedTime int64        `json:"integratedTime"`
	LogID          string       `json:"logID"`
	LogIndex       int64        `json:"logIndex"`
	Verification   wireVerified `json:"verification"`
}

type wireVerified struct {
	InclusionProof       wireProof `json:"inclusionProof"`
	SignedEntryTimestamp string    `json:"signedEntryTimestamp"`
}

type wireProof struct {
	Checkpoint string   `json:"checkpoint"`
	Hashes     []string `json:"hashes"`
	LogIndex   int64    `json:"logIndex"`
	RootHash   string   `json:"rootHash"`
	TreeSize   int64    `json:"treeSize"`
}

// Wire returns the entry as a Rekor v1 LogEntry: {uuid: {...}}.
func (e *Entry) Wire(logIDHex string) map[string]any {
	hashes := make([]string, len(e.Hashes))
	for i, h := range e.Hashes {
		hashes[i] = hex.EncodeToString(h)
	}
	return map[string]any{e.UUID: wireEntry{
		Body:           base64.StdEncoding.EncodeToString(e.Body),
		IntegratedTime: e.IntegratedTime,
		LogID:          logIDHex,
		LogIndex:       int64(e.LogIndex),
		Verification: wireVerified{
			InclusionProof: wireProof{
				Checkpoint: string(e.Checkpoint),
				Hashes:     hashes,
				LogIndex:   int64(e.LogIndex),
				RootHash:   hex.EncodeToString(e.RootHash),
				TreeSize:   int64(e.TreeSize),
			},
			SignedEntryTimestamp: base64.StdEncoding.EncodeToString(e.SET),
		},
	}}
}

func hashLeaf(leaf []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(leaf) }
