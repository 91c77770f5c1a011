// Package sqlite is the embedded registry store: SQLite (modernc.org/sqlite,
// no cgo) for metadata and a gocloud.dev file bucket for tarballs and
// bundles, both under one data directory:
//
//	<dir>/registry.db    metadata (WAL mode)
//	<dir>/blobs/sha512/… content-addressed tarballs and bundles
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlstore"
)

// Config configures a store.
type Config struct {
	// Dir is the data directory; it is created if missing.
	Dir string
}

// New opens (creating if needed) the store in cfg.Dir.
func New(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("sqlite store: empty data directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	// Immediate write transactions serialize writers up front; WAL lets
	// readers run alongside them.
	dsn := "file:" + filepath.Join(cfg.Dir, "registry.db") +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	blobs, err := store.OpenFileBlobs(filepath.Join(cfg.Dir, "blobs"))
	if err != nil {
		db.Close()
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, blobs, sqlstore.Dialect{Name: "sqlite store", Schema: sqlstore.Schema("INTEGER", "BLOB", "INTEGER"), ReadTx: sql.TxOptions{ReadOnly: true}})
	if err != nil {
		db.Close()
		blobs.Close()
		return nil, err
	}
	return s, nil
}
