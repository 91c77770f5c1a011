package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/storetest"
)

// testDSN is the database the conformance suite uses; override with
// PROVENANT_TEST_POSTGRES. The suite is skipped when it is unreachable,
// except in CI (CI set), whose machines run PostgreSQL there: a missing
// database must fail the build, not silently skip the backend.
func testDSN() string {
	if v := os.Getenv("PROVENANT_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// freshSchema creates an empty schema and returns a DSN that uses it.
func freshSchema(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", testDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL not reachable at %s (CI is set, so this fails instead of skipping): %v", testDSN(), err)
		}
		t.Skipf("PostgreSQL not reachable at %s: %v", testDSN(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "storetest_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", testDSN())
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	return testDSN() + "&search_path=" + schema
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(context.Background(), Config{DSN: freshSchema(t), BlobDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
