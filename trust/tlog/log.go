// Package tlog is a transparency log with Rekor's v1 API, stored and
// proved by tessera (github.com/transparency-dev/tessera) with its POSIX
// driver.
//
// # Entries
//
// POST /api/v1/log/entries accepts dsse 0.0.1, hashedrekord 0.0.1 and intoto
// 0.0.2 proposed entries. Each is validated and canonicalized with Rekor's own
// entry types (sigstore/rekor pkg/types), which verify the signature over the
// envelope or digest with the given certificate or key before anything is
// appended. The leaf is the canonical body; its RFC 6962 leaf hash, prefixed
// with the 16-hex-digit tree ID, is the entry UUID.
//
// # Proofs and checkpoints
//
// tessera sequences entries in batches and integrates them into its tiles
// before an Add future resolves. The answer to a POST then carries an
// inclusion proof built from those tiles for the integrated tree size (as
// tessera's client.ProofBuilder builds it, with node hashes memoised per
// size, see proofs.go), with a Rekor v1 checkpoint over that size
// and root: origin line "<host> - <treeID>", signed with the log's ECDSA
// P-256 key (sigstore/rekor pkg/util). A client thus waits for one batch, not
// for tessera's next published checkpoint. The SET signs the RFC 8785 form of
// {body, integratedTime, logID, logIndex} with the same key.
//
// tessera also publishes its own C2SP checkpoint (origin "<host>", same key,
// signed note per c2sp.org/tlog-checkpoint) every CheckpointInterval; the
// tiles, entry bundles and that checkpoint are served read-only under
// /tlog/ (c2sp.org/tlog-tiles), so witnesses and monitors can follow the log.
//
// # Files
//
//	log-key.pem   ECDSA P-256 log key (PKCS#8)
//	log.json      tree ID, checkpoint host, creation time
//	tiles/        tessera POSIX storage (checkpoint, tile/, tile/entries/, .state/)
//	index         40-byte records per entry: leaf hash, integrated time
//
// The index is a cache of what tessera stores plus each entry's integrated
// time; on Open it is checked against tessera's tree and completed from the
// entry bundles if a crash cut it short.
package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	rtnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/provenant/provenant/trust/internal/keyfile"
)

// Defaults for Config.
const (
	// DefaultBatchMaxSize is how many entries tessera sequences at once.
	DefaultBatchMaxSize = 256
	// DefaultBatchMaxAge bounds how long an entry waits for its batch to
	// fill. Batches grow by group commit (see group.go), so it can be short.
	DefaultBatchMaxAge = time.Millisecond
	// DefaultCheckpointInterval is how often tessera publishes its C2SP
	// checkpoint (tessera's POSIX driver allows no less than 100 ms).
	DefaultCheckpointInterval = 200 * time.Millisecond
	// DefaultPushback is the number of outstanding entries beyond which a
	// POST gets 503 with Retry-After.
	DefaultPushback = 4096
)

// File names inside Config.Dir.
const (
	KeyFile   = "log-key.pem"
	StateFile = "log.json"
	TilesDir  = "tiles"
	IndexFile = "index"
)

const recordSize = 40 // leaf hash (32) + integrated time (8, big-endian Unix seconds)

// Config configures a Log.
type Config struct {
	// Dir holds the key, the state and the tiles.
	Dir string
	// Host is the host name in checkpoint origins; used only when the log
	// is created, then persisted.
	Host string
	// BatchMaxSize, BatchMaxAge, CheckpointInterval and Pushback default to
	// the Default* constants when zero.
	BatchMaxSize       uint
	BatchMaxAge        time.Duration
	CheckpointInterval time.Duration
	Pushback           uint
	// Now is the clock for integrated times; nil means time.Now.
	Now func() time.Time
	// PathPrefix is the path the handler is mounted under (for example
	// "/trust" behind http.StripPrefix), used in Location headers.
	PathPrefix string
}

// state is log.json.
type state struct {
	TreeID  int64     `json:"treeID"`
	Host    string    `json:"host"`
	Created time.Time `json:"created"`
}

// A Log is a Rekor-v1-compatible transparency log. It is safe for
// concurrent use.
type Log struct {
	cfg      Config
	st       state
	key      *ecdsa.PrivateKey
	signer   signature.SignerVerifier
	logID    []byte
	logIDHex string

	appender *tessera.Appender
	reader   tessera.LogReader
	shutdown func(context.Context) error
	cancel   context.CancelFunc

	index  *os.File
	mu     sync.RWMutex
	byLeaf map[[32]byte]uint64

	headMu      sync.Mutex
	head        *treeHead
	headCompute sync.Mutex // one computation per new size; others wait and reuse

	tiles *tileCache
	pbMu  sync.Mutex
	pb    *proofBuilder // for the newest tree size seen

	pending    chan *pendingEntry
	committed  chan struct{}
	stopCommit context.CancelFunc
}

// Open opens the log in cfg.Dir, creating it (key, tree ID, storage) when
// the directory holds none.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("tlog: no directory")
	}
	routeKlog()
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = DefaultBatchMaxSize
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = DefaultBatchMaxAge
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.Pushback == 0 {
		cfg.Pushback = DefaultPushback
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	key, _, err := keyfile.LoadOrCreateKey(filepath.Join(cfg.Dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	st, err := loadOrCreateState(filepath.Join(cfg.Dir, StateFile), cfg)
	if err != nil {
		return nil, err
	}
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	id := sha256.Sum256(der)
	l := &Log{cfg: cfg, st: st, key: key, signer: signer, logID: id[:], logIDHex: hex.EncodeToString(id[:]), byLeaf: map[[32]byte]uint64{}}

	noteSigner, err := rtnote.NewNoteSigner(ctx, st.Host, signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: checkpoint signer: %w", err)
	}
	driver, err := posix.New(ctx, posix.Config{Path: filepath.Join(cfg.Dir, TilesDir)})
	if err != nil {
		return nil, fmt.Errorf("tlog: %w", err)
	}
	// tessera's background work lives as long as the Log, not the caller's ctx.
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(noteSigner).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithCheckpointRepublishInterval(max(cfg.CheckpointInterval, tessera.DefaultCheckpointRepublishInterval)).
		WithPushback(cfg.Pushback).
		WithAntispam(tessera.DefaultAntispamInMemorySize, nil)
	appender, shutdown, reader, err := tessera.NewAppender(tctx, driver, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("tlog: tessera: %w", err)
	}
	l.appender, l.shutdown, l.reader, l.cancel = appender, shutdown, reader, cancel
	l.tiles = newTileCache(reader.ReadTile, tileCacheSize)
	l.pending = make(chan *pendingEntry, cfg.Pushback)
	l.committed = make(chan struct{})
	cctx, stopCommit := context.WithCancel(tctx)
	l.stopCommit = stopCommit
	go l.commit(cctx)
	if err := l.loadIndex(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func loadOrCreateState(path string, cfg Config) (state, error) {
	var st state
	raw, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(raw, &st); err != nil || st.TreeID <= 0 || st.Host == "" {
			return st, fmt.Errorf("tlog: corrupt %s", path)
		}
		return st, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("tlog: %w", err)
	}
	if cfg.Host == "" {
		return st, errors.New("tlog: Config.Host is required to create a log")
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return st, err
	}
	st = state{TreeID: n.Int64() + 1, Host: cfg.Host, Created: cfg.Now().UTC().Truncate(time.Second)}
	raw, _ = json.MarshalIndent(st, "", "  ")
	if err := keyfile.WriteFile(path, raw, 0o644); err != nil {
		return st, fmt.Errorf("tlog: %w", err)
	}
	return st, nil
}

// loadIndex reads the index file and completes it up to tessera's
// integrated size from the entry bundles.
func (l *Log) loadIndex(ctx context.Context) error {
	f, err := os.OpenFile(filepath.Join(l.cfg.Dir, IndexFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("tlog: %w", err)
	}
	l.index = f
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("tlog: integrated size: %w", err)
	}
	var zero [32]byte
	repaired := 0
	const chunk = 4096 // records per read
	raw := make([]byte, chunk*recordSize)
	for base := uint64(0); base < size; base += chunk {
		n := min(chunk, size-base)
		buf := raw[:n*recordSize]
		clear(buf)
		if _, err := f.ReadAt(buf, int64(base)*recordSize); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("tlog: read index: %w", err)
		}
		for j := uint64(0); j < n; j++ {
			i := base + j
			var h [32]byte
			copy(h[:], buf[j*recordSize:j*recordSize+32])
			if h == zero {
				body, err := l.entryBody(ctx, i, size)
				if err != nil {
					return fmt.Errorf("tlog: repair index %d: %w", i, err)
				}
				copy(h[:], rfc6962.DefaultHasher.HashLeaf(body))
				if err := l.writeRecord(i, h, l.cfg.Now()); err != nil {
					return err
				}
				repaired++
			}
			l.byLeaf[h] = i
		}
	}
	if repaired > 0 {
		slog.WarnContext(ctx, "tlog: index completed from entry bundles; integrated times of those entries are the repair time", slog.Int("entries", repaired))
	}
	return nil
}

func (l *Log) writeRecord(i uint64, leafHash [32]byte, t time.Time) error {
	var rec [recordSize]byte
	copy(rec[:32], leafHash[:])
	binary.BigEndian.PutUint64(rec[32:], uint64(t.Unix()))
	if _, err := l.index.WriteAt(rec[:], int64(i)*recordSize); err != nil {
		return fmt.Errorf("tlog: write index: %w", err)
	}
	return nil
}

// record returns the leaf hash and integrated time of entry i.
func (l *Log) record(i uint64) ([32]byte, int64, error) {
	var rec [recordSize]byte
	var h [32]byte
	if _, err := l.index.ReadAt(rec[:], int64(i)*recordSize); err != nil {
		return h, 0, fmt.Errorf("tlog: read index %d: %w", i, err)
	}
	copy(h[:], rec[:32])
	if h == ([32]byte{}) {
		return h, 0, fmt.Errorf("tlog: entry %d: %w", i, fs.ErrNotExist)
	}
	return h, int64(binary.BigEndian.Uint64(rec[32:])), nil
}

// entryBody reads entry i's canonical body from tessera's entry bundles.
func (l *Log) entryBody(ctx context.Context, i, size uint64) ([]byte, error) {
	b, err := client.GetEntryBundle(ctx, l.reader.ReadEntryBundle, i/256, size)
	if err != nil {
		return nil, err
	}
	k := i % 256
	if k >= uint64(len(b.Entries)) {
		return nil, fmt.Errorf("entry %d not in its bundle", i)
	}
	return b.Entries[k], nil
}

// Close drains pending appends and releases the log's files.
func (l *Log) Close() error {
	var errs []error
	if l.stopCommit != nil {
		// Stop taking batches; tessera then drains what it holds.
		l.stopCommit()
		<-l.committed
	}
	if l.shutdown != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, l.shutdown(ctx))
		cancel()
	}
	if l.cancel != nil {
		l.cancel()
	}
	if l.index != nil {
		errs = append(errs, l.index.Close())
	}
	return errors.Join(errs...)
}

// PublicKey returns the log's verification key.
func (l *Log) PublicKey() *ecdsa.PublicKey { return &l.key.PublicKey }

// LogID returns sha256(DER SPKI) of the log key.
func (l *Log) LogID() []byte { return bytes.Clone(l.logID) }

// TreeID returns the persistent tree ID.
func (l *Log) TreeID() int64 { return l.st.TreeID }

// Origin returns the Rekor v1 checkpoint origin, "<host> - <treeID>".
func (l *Log) Origin() string { return fmt.Sprintf("%s - %d", l.st.Host, l.st.TreeID) }

// TilesOrigin returns the origin of tessera's C2SP checkpoint: the host.
func (l *Log) TilesOrigin() string { return l.st.Host }

// Created returns when the log was created; the trusted root's validFor.start.
func (l *Log) Created() time.Time { return l.st.Created }

// uuid returns the 80-hex entry UUID for a leaf hash.
func (l *Log) uuid(leafHash []byte) string {
	return fmt.Sprintf("%016x%s", l.st.TreeID, hex.EncodeToString(leafHash))
}

// A treeHead is a tree size and root with its signed v1 checkpoint.
type treeHead struct {
	size       uint64
	root       []byte
	checkpoint []byte
}

// headAt returns the signed tree head for size, which must not exceed the
// integrated size.
func (l *Log) headAt(ctx context.Context, size uint64, pb *proofBuilder) (*treeHead, error) {
	cached := func() *treeHead {
		l.headMu.Lock()
		defer l.headMu.Unlock()
		if h := l.head; h != nil && h.size == size {
			return h
		}
		return nil
	}
	if h := cached(); h != nil {
		return h, nil
	}
	l.headCompute.Lock()
	defer l.headCompute.Unlock()
	if h := cached(); h != nil {
		return h, nil
	}
	var root []byte
	if size == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot()
	} else {
		leaves, err := client.FetchLeafHashes(ctx, l.tiles.ReadTile, size-1, 1, size)
		if err != nil {
			return nil, fmt.Errorf("tlog: leaf hash %d: %w", size-1, err)
		}
		if pb == nil {
			pb = l.proofBuilder(size)
		}
		p, err := pb.inclusionProof(ctx, size-1)
		if err != nil {
			return nil, fmt.Errorf("tlog: inclusion proof: %w", err)
		}
		if root, err = proof.RootFromInclusionProof(rfc6962.DefaultHasher, size-1, size, leaves[0], p); err != nil {
			return nil, fmt.Errorf("tlog: root: %w", err)
		}
	}
	cp, err := rekorutil.CreateAndSignCheckpoint(ctx, l.st.Host, l.st.TreeID, size, root, l.signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign checkpoint: %w", err)
	}
	h := &treeHead{size: size, root: root, checkpoint: cp}
	l.headMu.Lock()
	if l.head == nil || l.head.size < size {
		l.head = h
	}
	l.headMu.Unlock()
	return h, nil
}

// Head returns the latest signed tree head: size, root and Rekor v1 checkpoint.
func (l *Log) Head(ctx context.Context) (size uint64, root, checkpoint []byte, err error) {
	size, err = l.reader.IntegratedSize(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	h, err := l.headAt(ctx, size, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	return h.size, bytes.Clone(h.root), bytes.Clone(h.checkpoint), nil
}

// ConsistencyProof proves that the tree of size first is a prefix of the
// tree of size last (≤ the integrated size).
func (l *Log) ConsistencyProof(ctx context.Context, first, last uint64) ([][]byte, []byte, error) {
	pb := l.proofBuilder(last)
	h, err := l.headAt(ctx, last, pb)
	if err != nil {
		return nil, nil, err
	}
	p, err := pb.consistencyProof(ctx, first, last)
	if err != nil {
		return nil, nil, err
	}
	return p, h.root, nil
}

// signEntry computes the SET over an entry.
func (l *Log) signEntry(body []byte, integratedTime int64, index uint64) ([]byte, error) {
	payload, err := setPayload(body, integratedTime, l.logIDHex, index)
	if err != nil {
		return nil, err
	}
	return l.signer.SignMessage(bytes.NewReader(payload))
}

// maxExactJSONInt is 2^53: RFC 8785 writes integers below it as plain
// decimals, larger ones as ECMAScript doubles.
const maxExactJSONInt = 1 << 53

// setPayload returns the RFC 8785 form of {body, integratedTime, logID,
// logIndex}, which the SET signs. The keys are already in RFC 8785 order,
// base64 and hex need no escaping, and integers below 2^53 are plain
// decimals, so the form is written directly; other values go through the
// canonicalizer (TestSETPayload compares both).
func setPayload(body []byte, integratedTime int64, logIDHex string, index uint64) ([]byte, error) {
	if integratedTime <= -maxExactJSONInt || integratedTime >= maxExactJSONInt || index >= maxExactJSONInt {
		return canonicalSETPayload(body, integratedTime, logIDHex, index)
	}
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(body))+len(logIDHex)+96)
	b = append(b, `{"body":"`...)
	b = base64.StdEncoding.AppendEncode(b, body)
	b = append(b, `","integratedTime":`...)
	b = strconv.AppendInt(b, integratedTime, 10)
	b = append(b, `,"logID":"`...)
	b = append(b, logIDHex...)
	b = append(b, `","logIndex":`...)
	b = strconv.AppendUint(b, index, 10)
	return append(b, '}'), nil
}

// canonicalSETPayload is setPayload by encoding/json and the RFC 8785
// canonicalizer.
func canonicalSETPayload(body []byte, integratedTime int64, logIDHex string, index uint64) ([]byte, error) {
	payload, err := json.Marshal(struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogID          string `json:"logID"`
		LogIndex       int64  `json:"logIndex"`
	}{base64.StdEncoding.EncodeToString(body), integratedTime, logIDHex, int64(index)})
	if err != nil {
		return nil, err
	}
	return jsoncanonicalizer.Transform(payload)
}

// proofBuilder returns a builder for size, reusing the newest one.
func (l *Log) proofBuilder(size uint64) *proofBuilder {
	l.pbMu.Lock()
	defer l.pbMu.Unlock()
	if l.pb != nil && l.pb.size == size {
		return l.pb
	}
	pb := newProofBuilder(size, l.tiles.ReadTile)
	if l.pb == nil || size > l.pb.size {
		l.pb = pb
	}
	return pb
}
