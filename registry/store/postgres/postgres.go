// Package postgres is the registry store on PostgreSQL (pgx) for metadata
// and a gocloud.dev bucket for tarballs and bundles. It runs the same
// logic (registry/store/sqlstore) and the same conformance suite as the
// embedded SQLite store.
//
// Several registry processes may share one database: a publish locks its
// package row (SELECT … FOR UPDATE), and the version primary key rejects a
// duplicate. Blob sweeping is coordinated within one process only, so run
// Sweep from a single instance.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlstore"
)

// Config configures a store.
type Config struct {
	// DSN is a PostgreSQL connection string, e.g.
	// postgres://user@127.0.0.1:5432/registry?sslmode=disable.
	DSN string
	// BlobDir is the directory of the blob bucket.
	BlobDir string
}

// New connects to the database, creates the schema if needed and opens the
// blob bucket.
func New(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	if cfg.DSN == "" || cfg.BlobDir == "" {
		return nil, errors.New("postgres store: DSN and BlobDir are required")
	}
	db, err := sql.Open("pgx", cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	blobs, err := store.OpenFileBlobs(cfg.BlobDir)
	if err != nil {
		db.Close()
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, blobs, sqlstore.Dialect{
		Name: "postgres store", Schema: sqlstore.Schema("BIGINT", "BYTEA", "BOOLEAN"), Dollar: true,
		LockPackage: `SELECT 1 FROM packages WHERE name=? FOR UPDATE`,
		ReadTx:      sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
	})
	if err != nil {
		db.Close()
		blobs.Close()
		return nil, err
	}
	return s, nil
}
