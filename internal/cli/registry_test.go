package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/provenant/provenant/registry/verify/verifytest"
)

func TestRegistryCommandRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("dataDir: "+dir+"\nunknownKey: 1\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"registry", "--config", bad}, "unknownKey"},
		{"missing file", []string{"registry", "--config", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"no data dir", []string{"registry"}, "data directory is required"},
		{"bad log level", []string{"registry", "--log-level", "loud"}, "--log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PROVENANT_REGISTRY_DATA_DIR", "")
			var out, errb bytes.Buffer
			code := Run(context.Background(), tt.args, &out, &errb)
			if code != ExitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d naming %q", code, errb.String(), ExitUsage, tt.want)
			}
		})
	}
}

// TestRegistryCommandServes runs `provenant registry` with a config file,
// reads the announced URL, checks npm and browser routes, then stops it
// through its context (as SIGTERM does).
func TestRegistryCommandServes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testRegistryCommandServes(t, "") })
	t.Run("postgres", func(t *testing.T) { testRegistryCommandServes(t, postgresSchema(t)) })
}

// postgresSchema returns a DSN on a fresh schema of the test database
// (PROVENANT_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test),
// skipping the test when it is unreachable.
func postgresSchema(t *testing.T) string {
	dsn := os.Getenv("PROVENANT_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL not reachable: %v", err)
	}
	schema := fmt.Sprintf("clitest_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	return dsn + "&search_path=" + schema
}

func testRegistryCommandServes(t *testing.T, postgresDSN string) {
	t.Setenv("PROVENANT_REGISTRY_POSTGRES", postgresDSN)
	dir := t.TempDir()
	rootJSON := verifytest.New(t).TrustedRootJSON()
	rootPath := filepath.Join(dir, "root.json")
	os.WriteFile(rootPath, rootJSON, 0o600)
	cfg := filepath.Join(dir, "registry.yaml")
	os.WriteFile(cfg, []byte("dataDir: "+filepath.Join(dir, "data")+"\nverification:\n  trustedRoots:\n    - name: private\n      path: "+rootPath+"\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb syncWriter
	go func() {
		done <- Run(ctx, []string{"registry", "--config", cfg, "--addr", "127.0.0.1:0"}, pw, &errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no listening line: %v; stderr %s", err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	for path, want := range map[string]string{"-/ping": "{}", "-/npm/v1/keys": "ecdsa-sha2-nistp256"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %.80s", path, resp.StatusCode, b)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	req.Header.Set("Accept", "text/html")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET / (browser): %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// syncWriter is a goroutine-safe buffer.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
