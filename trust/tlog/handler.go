package tlog

import (
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"crypto/x509"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
)

// MaxRetrieveItems caps the UUIDs plus indexes plus entries of one
// POST /api/v1/log/entries/retrieve, as Rekor does.
const MaxRetrieveItems = 10

// Handler serves the Rekor v1 API under /api/v1/ and the C2SP tlog-tiles
// read API under /tlog/.
func (l *Log) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/log/entries", l.serveAdd)
	mux.HandleFunc("GET /api/v1/log/entries", l.serveByIndex)
	mux.HandleFunc("GET /api/v1/log/entries/{uuid}", l.serveByUUID)
	mux.HandleFunc("POST /api/v1/log/entries/retrieve", l.serveRetrieve)
	mux.HandleFunc("GET /api/v1/log", l.serveLogInfo)
	mux.HandleFunc("GET /api/v1/log/publicKey", l.servePublicKey)
	mux.HandleFunc("GET /api/v1/log/proof", l.serveProof)
	mux.Handle("GET /tlog/", http.StripPrefix("/tlog", l.tilesHandler()))
	return mux
}

func (l *Log) serveAdd(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limits.MaxLogEntryRequestBytes+1))
	if err != nil {
		l.fail(w, r, &provenance.CheckError{Check: "entry-body", Err: err})
		return
	}
	if len(body) > limits.MaxLogEntryRequestBytes {
		l.writeError(w, r, http.StatusRequestEntityTooLarge, &provenance.CheckError{Check: "entry-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxLogEntryRequestBytes), Actual: "more"})
		return
	}
	e, err := l.Add(r.Context(), body)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", e.UUID)
	w.Header().Set("Location", l.cfg.PathPrefix+"/api/v1/log/entries/"+e.UUID)
	writeJSON(w, http.StatusCreated, e.Wire(l.logIDHex))
}

func (l *Log) serveByUUID(w http.ResponseWriter, r *http.Request) {
	e, err := l.ByUUID(r.Context(), r.PathValue("uuid"))
	if err != nil {
		l.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.Wire(l.logIDHex))
}

func (l *Log) serveByIndex(w http.ResponseWriter, r *http.Request) {
	s := r.URL.Query().Get("logIndex")
	i, err := strconv.ParseUint(s, 10, 63)
	if err != nil {
		l.fail(w, r, &provenance.CheckError{Check: "log-index", Expected: "a non-negative integer logIndex", Actual: s})
		return
	}
	e, err := l.ByIndex(r.Context(), i)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.Wire(l.logIDHex))
}

func (l *Log) serveRetrieve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limits.MaxLogEntryRequestBytes+1))
	if err != nil || len(body) > limits.MaxLogEntryRequestBytes {
		l.writeError(w, r, http.StatusRequestEntityTooLarge, &provenance.CheckError{Check: "retrieve-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxLogEntryRequestBytes)})
		return
	}
	var q struct {
		EntryUUIDs []string          `json:"entryUUIDs"`
		LogIndexes []*int64          `json:"logIndexes"`
		Entries    []json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		l.fail(w, r, &provenance.CheckError{Check: "retrieve-json", Err: err})
		return
	}
	if n := len(q.EntryUUIDs) + len(q.LogIndexes) + len(q.Entries); n == 0 || n > MaxRetrieveItems {
		l.fail(w, r, &provenance.CheckError{Check: "retrieve-count", Expected: fmt.Sprintf("1 to %d items", MaxRetrieveItems), Actual: strconv.Itoa(n)})
		return
	}
	out := []map[string]any{}
	add := func(e *Entry, err error) error {
		if errors.Is(err, ErrNotFound) {
			return nil // Rekor leaves missing entries out of the answer.
		}
		if err != nil {
			return err
		}
		out = append(out, e.Wire(l.logIDHex))
		return nil
	}
	for _, u := range q.EntryUUIDs {
		if err := add(l.ByUUID(r.Context(), u)); err != nil {
			l.fail(w, r, err)
			return
		}
	}
	for _, i := range q.LogIndexes {
		if i == nil || *i < 0 {
			l.fail(w, r, &provenance.CheckError{Check: "log-index", Expected: "a non-negative integer"})
			return
		}
		if err := add(l.ByIndex(r.Context(), uint64(*i))); err != nil {
			l.fail(w, r, err)
			return
		}
	}
	for _, raw := range q.Entries {
		leaf, err := ParseProposedEntry(r.Context(), raw)
		if err != nil {
			l.fail(w, r, err)
			return
		}
		if err := add(l.ByUUID(r.Context(), hex.EncodeToString(hashLeaf(leaf)))); err != nil {
			l.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (l *Log) serveLogInfo(w http.ResponseWriter, r *http.Request) {
	size, root, cp, err := l.Head(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"rootHash":       hex.EncodeToString(root),
		"treeSize":       size,
		"signedTreeHead": string(cp),
		"treeID":         strconv.FormatInt(l.st.TreeID, 10),
		"inactiveShards": []any{},
	})
}

func (l *Log) servePublicKey(w http.ResponseWriter, r *http.Request) {
	der, err := x509.MarshalPKIXPublicKey(l.PublicKey())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (l *Log) serveProof(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if id := q.Get("treeID"); id != "" && id != strconv.FormatInt(l.st.TreeID, 10) {
		l.fail(w, r, &provenance.CheckError{Check: "tree-id", Expected: strconv.FormatInt(l.st.TreeID, 10), Actual: id})
		return
	}
	first, err := strconv.ParseUint(q.Get("firstSize"), 10, 63)
	if err != nil || first < 1 {
		l.fail(w, r, &provenance.CheckError{Check: "first-size", Expected: "an integer ≥ 1", Actual: q.Get("firstSize")})
		return
	}
	size, err := l.reader.IntegratedSize(r.Context())
	if err != nil {
		l.fail(w, r, err)
		return
	}
	last := size
	if s := q.Get("lastSize"); s != "" {
		if last, err = strconv.ParseUint(s, 10, 63); err != nil {
			l.fail(w, r, &provenance.CheckError{Check: "last-size", Expected: "an integer", Actual: s})
			return
		}
	}
	if first > last || last > size {
		l.fail(w, r, &provenance.CheckError{Check: "proof-range", Expected: fmt.Sprintf("1 ≤ firstSize ≤ lastSize ≤ %d", size), Actual: fmt.Sprintf("%d..%d", first, last)})
		return
	}
	hashes, root, err := l.ConsistencyProof(r.Context(), first, last)
	if err != nil {
		l.fail(w, r, err)
		return
	}
	hx := make([]string, len(hashes))
	for i, h := range hashes {
		hx[i] = hex.EncodeToString(h)
	}
	writeJSON(w, http.StatusOK, map[string]any{"rootHash": hex.EncodeToString(root), "hashes": hx})
}

// tilesHandler serves checkpoint, tile/... and tile/entries/... from
// tessera's POSIX directory, and nothing else (no .state, no listings).
func (l *Log) tilesHandler() http.Handler {
	fsrv := http.FileServer(http.Dir(filepath.Join(l.cfg.Dir, TilesDir)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		ok := p == "/checkpoint" || (strings.HasPrefix(p, "/tile/") && !strings.HasSuffix(p, "/"))
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ".") {
				ok = false
			}
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if p == "/checkpoint" || strings.Contains(p, ".p/") {
			w.Header().Set("Cache-Control", "no-cache")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		fsrv.ServeHTTP(w, r)
	})
}

// fail maps an error to Rekor's status codes.
func (l *Log) fail(w http.ResponseWriter, r *http.Request, err error) {
	var dup *DuplicateError
	var ce *provenance.CheckError
	switch {
	case errors.As(err, &dup):
		w.Header().Set("Location", l.cfg.PathPrefix+"/api/v1/log/entries/"+dup.UUID)
		w.Header().Set("ETag", dup.UUID)
		l.writeError(w, r, http.StatusConflict, err)
	case errors.Is(err, ErrNotFound):
		l.writeError(w, r, http.StatusNotFound, err)
	case errors.Is(err, ErrBusy):
		w.Header().Set("Retry-After", "1")
		l.writeError(w, r, http.StatusServiceUnavailable, err)
	case errors.As(err, &ce):
		l.writeError(w, r, http.StatusBadRequest, err)
	default:
		slog.ErrorContext(r.Context(), "tlog: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": http.StatusInternalServerError, "message": "internal error"})
	}
}

func (l *Log) writeError(w http.ResponseWriter, r *http.Request, status int, err error) {
	slog.DebugContext(r.Context(), "rejection: tlog request", slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
	writeJSON(w, status, map[string]any{"code": status, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
