// Package sqlstore implements store.Store over database/sql and a
// content-addressed blob area, for every SQL backend: a [Dialect] carries
// what differs (schema, placeholders, locking). The backends
// (store/sqlite, store/postgres) only open the database and the bucket.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/provenant/provenant/registry/store"
)

// A Dialect is what one SQL database needs said differently.
type Dialect struct {
	// Name prefixes error messages, e.g. "sqlite store".
	Name string
	// Schema creates the tables if they do not exist (idempotent).
	Schema string
	// Dollar selects $1, $2… placeholders instead of ?.
	Dollar bool
	// LockPackage, if set, locks a package row for the rest of the
	// transaction ("SELECT … FOR UPDATE"); SQLite needs none, its write
	// transactions are exclusive.
	LockPackage string
	// ReadTx are the options of the read transaction behind Package.
	ReadTx sql.TxOptions
}

// schemaTemplate is the DDL of every backend, with the column types that
// differ left as {{int}}, {{bytes}} and {{bool}}.
const schemaTemplate = `
CREATE TABLE IF NOT EXISTS packages (
	name        TEXT PRIMARY KEY,
	created     {{int}} NOT NULL,
	modified    {{int}} NOT NULL,
	rev         {{int}} NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	keywords    TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS packages_modified ON packages(modified);
CREATE TABLE IF NOT EXISTS versions (
	name        TEXT NOT NULL REFERENCES packages(name),
	version     TEXT NOT NULL,
	seq         {{int}} NOT NULL,
	manifest    {{bytes}} NOT NULL,
	tarball_key TEXT NOT NULL,
	bundle_key  TEXT NOT NULL DEFAULT '',
	sha512      TEXT NOT NULL,
	sha1        TEXT NOT NULL,
	size        {{int}} NOT NULL,
	provenance  {{bytes}},
	publish_att {{bytes}},
	publisher   TEXT NOT NULL,
	published   {{int}} NOT NULL,
	deprecated  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS unpublished (
	name    TEXT NOT NULL,
	version TEXT NOT NULL,
	at      {{int}} NOT NULL,
	PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS tags (
	name    TEXT NOT NULL,
	tag     TEXT NOT NULL,
	version TEXT NOT NULL,
	PRIMARY KEY (name, tag)
);
CREATE TABLE IF NOT EXISTS owners (
	name     TEXT NOT NULL,
	username TEXT NOT NULL,
	seq      {{int}} NOT NULL,
	PRIMARY KEY (name, username)
);
CREATE TABLE IF NOT EXISTS users (
	name          TEXT PRIMARY KEY,
	password_hash TEXT NOT NULL,
	email         TEXT NOT NULL,
	created       {{int}} NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
	key      TEXT PRIMARY KEY,
	hash     TEXT NOT NULL UNIQUE,
	prefix   TEXT NOT NULL,
	username TEXT NOT NULL,
	readonly {{bool}} NOT NULL,
	created  {{int}} NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_username ON tokens(username);
`

// Schema returns the DDL with the dialect's names for a 64-bit integer,
// a byte string and a boolean column type.
func Schema(integer, bytes, boolean string) string {
	return strings.NewReplacer("{{int}}", integer, "{{bytes}}", bytes, "{{bool}}", boolean).Replace(schemaTemplate)
}

// Store is the SQL implementation of store.Store.
type Store struct {
	db    *sql.DB
	blobs *store.Blobs
	d     Dialect
}

var _ store.Store = (*Store)(nil)

// New creates the schema and returns a Store that owns db and blobs.
func New(ctx context.Context, db *sql.DB, blobs *store.Blobs, d Dialect) (*Store, error) {
	if _, err := db.ExecContext(ctx, d.Schema); err != nil {
		return nil, fmt.Errorf("%s: create schema: %w", d.Name, err)
	}
	return &Store{db: db, blobs: blobs, d: d}, nil
}

// rebind rewrites ? placeholders for the dialect.
func (d Dialect) rebind(q string) string {
	if !d.Dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wrap prefixes an unexpected database error with the store's name.
func (s *Store) wrap(err error) error { return fmt.Errorf("%s: %w", s.d.Name, err) }

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dq is a database handle that rebinds queries for the dialect.
type dq struct {
	e execer
	d Dialect
}

func (q dq) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.e.ExecContext(ctx, q.d.rebind(query), args...)
}
func (q dq) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.e.QueryContext(ctx, q.d.rebind(query), args...)
}
func (q dq) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.e.QueryRowContext(ctx, q.d.rebind(query), args...)
}

func isUnique(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint") || strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "duplicate key")
}

// Close closes the database and the blob bucket.
func (s *Store) Close() error {
	return errors.Join(s.db.Close(), s.blobs.Close())
}

func nanos(t time.Time) int64 { return t.UnixNano() }
func fromNanos(n int64) time.Time {
	return time.Unix(0, n).UTC()
}

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, fn func(dq) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(fmt.Errorf("begin: %w", err))
	}
	if err := fn(dq{tx, s.d}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// lockPackage locks a package row when the dialect needs it.
func (s *Store) lockPackage(ctx context.Context, tx dq, name string) error {
	if s.d.LockPackage == "" {
		return nil
	}
	rows, err := tx.query(ctx, s.d.LockPackage, name)
	if err != nil {
		return s.wrap(err)
	}
	return rows.Close()
}

// Publish implements store.Store.
func (s *Store) Publish(ctx context.Context, publisher string, p store.Publication) error {
	v := p.Version
	if v.Name == "" || v.Version == "" || len(p.Tarball) == 0 {
		return fmt.Errorf("%s: publish: empty name, version or tarball", s.d.Name)
	}
	return s.blobs.Guard(func() error {
		var err error
		if v.TarballKey, err = s.blobs.Put(ctx, p.Tarball); err != nil {
			return err
		}
		if p.Bundle != nil {
			if v.BundleKey, err = s.blobs.Put(ctx, p.Bundle); err != nil {
				return err
			}
		}
		return s.tx(ctx, func(tx dq) error { return s.publishTx(ctx, tx, publisher, v, p) })
	})
}

func (s *Store) publishTx(ctx context.Context, tx dq, publisher string, v store.Version, p store.Publication) error {
	now := nanos(v.Published)
	kw, _ := json.Marshal(nonNil(p.Keywords))
	res, err := tx.exec(ctx, `INSERT INTO packages(name, created, modified, rev, description, keywords) VALUES(?,?,?,0,?,?) ON CONFLICT(name) DO NOTHING`,
		v.Name, now, now, p.Description, string(kw))
	if err != nil {
		return s.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.exec(ctx, `INSERT INTO owners(name, username, seq) VALUES(?,?,0)`, v.Name, publisher); err != nil {
			return s.wrap(err)
		}
	} else {
		if err := s.lockPackage(ctx, tx, v.Name); err != nil {
			return err
		}
		if err := s.checkOwner(ctx, tx, v.Name, publisher); err != nil {
			return err
		}
	}
	var taken int
	if err := tx.row(ctx, `SELECT (SELECT COUNT(*) FROM versions WHERE name=? AND version=?) + (SELECT COUNT(*) FROM unpublished WHERE name=? AND version=?)`,
		v.Name, v.Version, v.Name, v.Version).Scan(&taken); err != nil {
		return s.wrap(err)
	}
	if taken > 0 {
		return fmt.Errorf("version %s@%s was already published: %w", v.Name, v.Version, store.ErrConflict)
	}
	if _, err := tx.exec(ctx, `INSERT INTO versions(name, version, seq, manifest, tarball_key, bundle_key, sha512, sha1, size, provenance, publish_att, publisher, published, deprecated)
		VALUES(?,?,(SELECT COALESCE(MAX(seq),0)+1 FROM versions WHERE name=?),?,?,?,?,?,?,?,?,?,?,?)`,
		v.Name, v.Version, v.Name, []byte(v.Manifest), v.TarballKey, v.BundleKey, v.SHA512, v.SHA1, v.Size,
		nullBytes(v.Provenance), nullBytes(v.PublishAttestation), publisher, now, v.Deprecated); err != nil {
		if isUnique(err) {
			return fmt.Errorf("version %s@%s was already published: %w", v.Name, v.Version, store.ErrConflict)
		}
		return s.wrap(fmt.Errorf("insert version: %w", err))
	}
	for tag, ver := range p.Tags {
		if _, err := tx.exec(ctx, `INSERT INTO tags(name, tag, version) VALUES(?,?,?) ON CONFLICT(name, tag) DO UPDATE SET version=excluded.version`, v.Name, tag, ver); err != nil {
			return s.wrap(err)
		}
	}
	_, err = tx.exec(ctx, `UPDATE packages SET modified=?, rev=rev+1, description=?, keywords=? WHERE name=?`, now, p.Description, string(kw), v.Name)
	if err != nil {
		return s.wrap(err)
	}
	return nil
}

func (s *Store) checkOwner(ctx context.Context, tx dq, name, user string) error {
	var ok bool
	if err := tx.row(ctx, `SELECT EXISTS(SELECT 1 FROM owners WHERE name=? AND username=?)`, name, user).Scan(&ok); err != nil {
		return s.wrap(err)
	}
	if !ok {
		return fmt.Errorf("user %q does not own package %q: %w", user, name, store.ErrPermission)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}

// Package implements store.Store.
func (s *Store) Package(ctx context.Context, name string) (*store.Package, error) {
	// One read transaction gives a consistent snapshot (WAL readers do not block).
	rtx, err := s.db.BeginTx(ctx, &s.d.ReadTx)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rtx.Rollback()
	tx := dq{rtx, s.d}
	p := &store.Package{Name: name, DistTags: map[string]string{}, Unpublished: map[string]time.Time{}}
	var created, modified int64
	err = tx.row(ctx, `SELECT created, modified, rev FROM packages WHERE name=?`, name).Scan(&created, &modified, &p.Rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("package %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	p.Created, p.Modified = fromNanos(created), fromNanos(modified)
	rows, err := tx.query(ctx, `SELECT version, manifest, tarball_key, bundle_key, sha512, sha1, size, provenance, publish_att, publisher, published, deprecated
		FROM versions WHERE name=? ORDER BY seq`, name)
	if err != nil {
		return nil, s.wrap(err)
	}
	for rows.Next() {
		v := store.Version{Name: name}
		var manifest, prov, att []byte
		var published int64
		if err := rows.Scan(&v.Version, &manifest, &v.TarballKey, &v.BundleKey, &v.SHA512, &v.SHA1, &v.Size, &prov, &att, &v.Publisher, &published, &v.Deprecated); err != nil {
			rows.Close()
			return nil, s.wrap(err)
		}
		v.Manifest, v.Provenance, v.PublishAttestation = manifest, prov, att
		v.Published = fromNanos(published)
		p.Versions = append(p.Versions, v)
	}
	if err := rows.Close(); err != nil {
		return nil, s.wrap(err)
	}
	if err := s.scanPairs(ctx, tx, `SELECT tag, version FROM tags WHERE name=?`, name, func(a, b string) { p.DistTags[a] = b }); err != nil {
		return nil, err
	}
	if err := s.scanPairs(ctx, tx, `SELECT version, CAST(at AS TEXT) FROM unpublished WHERE name=?`, name, func(a, b string) {
		var n int64
		fmt.Sscan(b, &n)
		p.Unpublished[a] = fromNanos(n)
	}); err != nil {
		return nil, err
	}
	p.OwnerEmails = map[string]string{}
	if err := s.scanPairs(ctx, tx, `SELECT o.username, COALESCE(u.email, '') FROM owners o LEFT JOIN users u ON u.name = o.username WHERE o.name=? ORDER BY o.seq`, name, func(a, b string) {
		p.Owners = append(p.Owners, a)
		p.OwnerEmails[a] = b
	}); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Store) scanPairs(ctx context.Context, tx dq, q, arg string, f func(a, b string)) error {
	rows, err := tx.query(ctx, q, arg)
	if err != nil {
		return s.wrap(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return s.wrap(err)
		}
		f(a, b)
	}
	return rows.Err()
}

// OpenBlob implements store.Store.
func (s *Store) OpenBlob(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	return s.blobs.Open(ctx, key)
}

// bump marks a package written, failing with ErrNotFound when it does not exist.
func (s *Store) bump(ctx context.Context, tx dq, name string) error {
	res, err := tx.exec(ctx, `UPDATE packages SET modified=?, rev=rev+1 WHERE name=?`, nanos(time.Now()), name)
	if err != nil {
		return s.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("package %q: %w", name, store.ErrNotFound)
	}
	return nil
}

func (s *Store) versionExists(ctx context.Context, tx dq, name, version string) error {
	var ok bool
	if err := tx.row(ctx, `SELECT EXISTS(SELECT 1 FROM versions WHERE name=? AND version=?)`, name, version).Scan(&ok); err != nil {
		return s.wrap(err)
	}
	if !ok {
		return fmt.Errorf("version %s@%s: %w", name, version, store.ErrNotFound)
	}
	return nil
}

// SetDistTag implements store.Store.
func (s *Store) SetDistTag(ctx context.Context, name, tag, version string) error {
	return s.tx(ctx, func(tx dq) error {
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		if err := s.versionExists(ctx, tx, name, version); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO tags(name, tag, version) VALUES(?,?,?) ON CONFLICT(name, tag) DO UPDATE SET version=excluded.version`, name, tag, version)
		return err
	})
}

// DeleteDistTag implements store.Store.
func (s *Store) DeleteDistTag(ctx context.Context, name, tag string) error {
	return s.tx(ctx, func(tx dq) error {
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM tags WHERE name=? AND tag=?`, name, tag)
		if err != nil {
			return s.wrap(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("dist-tag %q of %q: %w", tag, name, store.ErrNotFound)
		}
		return nil
	})
}

// Deprecate implements store.Store.
func (s *Store) Deprecate(ctx context.Context, name string, messages map[string]string) error {
	return s.tx(ctx, func(tx dq) error {
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		for v, msg := range messages {
			if err := s.versionExists(ctx, tx, name, v); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `UPDATE versions SET deprecated=? WHERE name=? AND version=?`, msg, name, v); err != nil {
				return s.wrap(err)
			}
		}
		return nil
	})
}

// SetOwners implements store.Store.
func (s *Store) SetOwners(ctx context.Context, name, actor string, owners []string) error {
	if len(owners) == 0 {
		return fmt.Errorf("package %q must keep at least one owner: %w", name, store.ErrConflict)
	}
	return s.tx(ctx, func(tx dq) error {
		if err := s.lockPackage(ctx, tx, name); err != nil {
			return err
		}
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		if err := s.checkOwner(ctx, tx, name, actor); err != nil {
			return err
		}
		for _, u := range owners {
			var ok bool
			if err := tx.row(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE name=?)`, u).Scan(&ok); err != nil {
				return s.wrap(err)
			}
			if !ok {
				return fmt.Errorf("user %q: %w", u, store.ErrNotFound)
			}
		}
		if _, err := tx.exec(ctx, `DELETE FROM owners WHERE name=?`, name); err != nil {
			return s.wrap(err)
		}
		for i, u := range owners {
			if _, err := tx.exec(ctx, `INSERT INTO owners(name, username, seq) VALUES(?,?,?)`, name, u, i); err != nil {
				return s.wrap(err)
			}
		}
		return nil
	})
}

func (s *Store) unpublishTx(ctx context.Context, tx dq, name, version string, now int64) error {
	if err := s.versionExists(ctx, tx, name, version); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM versions WHERE name=? AND version=?`, name, version); err != nil {
		return s.wrap(err)
	}
	if _, err := tx.exec(ctx, `DELETE FROM tags WHERE name=? AND version=?`, name, version); err != nil {
		return s.wrap(err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO unpublished(name, version, at) VALUES(?,?,?)`, name, version, now); err != nil {
		return s.wrap(err)
	}
	return nil
}

// Unpublish implements store.Store.
func (s *Store) Unpublish(ctx context.Context, name, version string) error {
	return s.tx(ctx, func(tx dq) error {
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		return s.unpublishTx(ctx, tx, name, version, nanos(time.Now()))
	})
}

// UnpublishPackage implements store.Store.
func (s *Store) UnpublishPackage(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx dq) error {
		if err := s.bump(ctx, tx, name); err != nil {
			return err
		}
		var versions []string
		rows, err := tx.query(ctx, `SELECT version FROM versions WHERE name=?`, name)
		if err != nil {
			return s.wrap(err)
		}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return s.wrap(err)
			}
			versions = append(versions, v)
		}
		rows.Close()
		now := nanos(time.Now())
		for _, v := range versions {
			if err := s.unpublishTx(ctx, tx, name, v, now); err != nil {
				return err
			}
		}
		_, err = tx.exec(ctx, `DELETE FROM tags WHERE name=?`, name)
		return err
	})
}

const summarySelect = `SELECT p.name, COALESCE(t.version, ''), p.description, p.keywords, p.modified, COALESCE(v.publisher, '')
	FROM packages p
	LEFT JOIN tags t ON t.name = p.name AND t.tag = 'latest'
	LEFT JOIN versions v ON v.name = p.name AND v.version = t.version `

func (s *Store) summaries(ctx context.Context, q string, args ...any) ([]store.Summary, error) {
	rows, err := s.h().query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []store.Summary
	for rows.Next() {
		var sm store.Summary
		var kw string
		var mod int64
		if err := rows.Scan(&sm.Name, &sm.Latest, &sm.Description, &kw, &mod, &sm.Publisher); err != nil {
			return nil, s.wrap(err)
		}
		json.Unmarshal([]byte(kw), &sm.Keywords)
		sm.Modified = fromNanos(mod)
		out = append(out, sm)
	}
	return out, rows.Err()
}

// Recent implements store.Store.
func (s *Store) Recent(ctx context.Context, limit int) ([]store.Summary, error) {
	return s.summaries(ctx, summarySelect+`WHERE t.version IS NOT NULL ORDER BY p.modified DESC LIMIT ?`, limit)
}

// Search implements store.Store.
func (s *Store) Search(ctx context.Context, text string, offset, limit int) ([]store.Summary, int, error) {
	where := []string{"t.version IS NOT NULL"}
	var args []any
	for _, w := range strings.Fields(strings.ToLower(text)) {
		like := "%" + escapeLike(w) + "%"
		where = append(where, `(lower(p.name) LIKE ? ESCAPE '\' OR lower(p.description) LIKE ? ESCAPE '\' OR lower(p.keywords) LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	cond := "WHERE " + strings.Join(where, " AND ")
	var total int
	if err := s.h().row(ctx, `SELECT COUNT(*) FROM packages p LEFT JOIN tags t ON t.name = p.name AND t.tag = 'latest' `+cond, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err)
	}
	exact := strings.ToLower(strings.TrimSpace(text))
	q := summarySelect + cond + ` ORDER BY (lower(p.name) = ?) DESC, (lower(p.name) LIKE ? ESCAPE '\') DESC, p.modified DESC LIMIT ? OFFSET ?`
	out, err := s.summaries(ctx, q, append(args, exact, "%"+escapeLike(exact)+"%", limit, offset)...)
	return out, total, err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CreateUser implements store.Store.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	return s.tx(ctx, func(tx dq) error {
		var exists bool
		if err := tx.row(ctx, `SELECT EXISTS(SELECT 1 FROM users WHERE name=?)`, u.Name).Scan(&exists); err != nil {
			return s.wrap(err)
		}
		if exists {
			return fmt.Errorf("user %q exists: %w", u.Name, store.ErrConflict)
		}
		_, err := tx.exec(ctx, `INSERT INTO users(name, password_hash, email, created) VALUES(?,?,?,?)`, u.Name, u.PasswordHash, u.Email, nanos(u.Created))
		return err
	})
}

// User implements store.Store.
func (s *Store) User(ctx context.Context, name string) (*store.User, error) {
	u := &store.User{Name: name}
	var created int64
	err := s.h().row(ctx, `SELECT password_hash, email, created FROM users WHERE name=?`, name).Scan(&u.PasswordHash, &u.Email, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	u.Created = fromNanos(created)
	return u, nil
}

// CreateToken implements store.Store.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	_, err := s.h().exec(ctx, `INSERT INTO tokens(key, hash, prefix, username, readonly, created) VALUES(?,?,?,?,?,?)`,
		t.Key, t.Hash, t.Prefix, t.User, t.ReadOnly, nanos(t.Created))
	if isUnique(err) {
		return fmt.Errorf("token %s: %w", t.Key, store.ErrConflict)
	}
	if err != nil {
		return s.wrap(err)
	}
	return nil
}

const tokenSelect = `SELECT key, hash, prefix, username, readonly, created FROM tokens `

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created int64
	err := sc.Scan(&t.Key, &t.Hash, &t.Prefix, &t.User, &t.ReadOnly, &created)
	t.Created = fromNanos(created)
	return t, err
}

// TokenByHash implements store.Store.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*store.Token, error) {
	t, err := scanToken(s.h().row(ctx, tokenSelect+`WHERE hash=?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, s.wrap(err)
	}
	return &t, nil
}

// Tokens implements store.Store.
func (s *Store) Tokens(ctx context.Context, user string) ([]store.Token, error) {
	rows, err := s.h().query(ctx, tokenSelect+`WHERE username=? ORDER BY created, key`, user)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.wrap(err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken implements store.Store.
func (s *Store) DeleteToken(ctx context.Context, user, keyOrHash string) error {
	res, err := s.h().exec(ctx, `DELETE FROM tokens WHERE username=? AND (key=? OR hash=?)`, user, keyOrHash, keyOrHash)
	if err != nil {
		return s.wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %q of %q: %w", keyOrHash, user, store.ErrNotFound)
	}
	return nil
}

// Sweep implements store.Store.
func (s *Store) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	return s.blobs.Sweep(ctx, grace, func(ctx context.Context) (map[string]bool, error) {
		live := map[string]bool{}
		rows, err := s.h().query(ctx, `SELECT tarball_key FROM versions UNION SELECT bundle_key FROM versions WHERE bundle_key != ''`)
		if err != nil {
			return nil, s.wrap(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return nil, s.wrap(err)
			}
			live[k] = true
		}
		return live, rows.Err()
	})
}

// h returns the database handle outside a transaction.
func (s *Store) h() dq { return dq{s.db, s.d} }
