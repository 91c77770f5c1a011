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
	"os/exec"
	"path/filepath"
	"regexp"
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
		{"trusted root without a name", []string{"registry", "--data-dir", dir, "--trusted-root", "/x/trusted_root.json"}, "--trusted-root"},
		{"trusted root without a path", []string{"registry", "--data-dir", dir, "--trusted-root", "private="}, "NAME=PATH"},
		{"bad commit check", []string{"registry", "--data-dir", dir, "--commit-check", "maybe"}, "--commit-check"},
		{"missing public-good root", []string{"registry", "--data-dir", dir, "--public-good-root", filepath.Join(dir, "nope.json")}, "trusted root public-good"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PROVENANT_REGISTRY_DATA_DIR", "")
			t.Setenv("PROVENANT_REGISTRY_POSTGRES", "")
			var out, errb bytes.Buffer
			code := Run(context.Background(), tt.args, &out, &errb)
			if code != ExitUsage || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d naming %q", code, errb.String(), ExitUsage, tt.want)
			}
		})
	}
}

// TestRegistryCommandEnvErrors checks the PROVENANT_REGISTRY_* variables
// that can be malformed.
func TestRegistryCommandEnvErrors(t *testing.T) {
	dir := t.TempDir()
	for env, want := range map[string]string{
		"PROVENANT_REGISTRY_TRUSTED_ROOTS": "PROVENANT_REGISTRY_TRUSTED_ROOTS",
		"PROVENANT_REGISTRY_COMMIT_CHECK":  "PROVENANT_REGISTRY_COMMIT_CHECK",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "bogus")
			var out, errb bytes.Buffer
			if code := Run(context.Background(), []string{"registry", "--data-dir", dir}, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), want) {
				t.Fatalf("exit %d, stderr %q; want %d naming %s", code, errb.String(), ExitUsage, want)
			}
		})
	}
}

// runCommand starts Run(args) and returns the URL it announces on its
// first output line, its stderr, and a stop function returning the exit
// code after cancelling it (as SIGTERM does).
func runCommand(t *testing.T, args ...string) (string, *syncWriter, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	errb := &syncWriter{}
	go func() {
		done <- Run(ctx, args, pw, errb)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("%s: no listening line: %v; stderr %s", args[0], err, errb.String())
	}
	go io.Copy(io.Discard, pr)
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+/?`).FindString(line)
	if base == "" {
		cancel()
		t.Fatalf("no URL in %q", line)
	}
	stopped := false
	stop := func() int {
		if stopped {
			return ExitOK
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop", args[0])
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return base, errb, stop
}

// getBody GETs url with an Accept header and returns the status and body.
func getBody(t *testing.T, url, accept string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRegistryCommandFlagsOnly is an operator's first run without a
// configuration file: `provenant trust serve` provides the private root
// and the log, and `provenant registry` is pointed at them with flags.
// The log pages read the trust services' log and check its checkpoint
// against the trusted root given with --trusted-root.
func TestRegistryCommandFlagsOnly(t *testing.T) {
	t.Setenv("PROVENANT_REGISTRY_POSTGRES", "")
	dir := t.TempDir()
	trustDir := filepath.Join(dir, "trust")
	trustURL, _, _ := runCommand(t, "trust", "serve", "--data-dir", trustDir, "--addr", "127.0.0.1:0")
	trustURL = strings.TrimSuffix(trustURL, "/")
	rootPath := filepath.Join(trustDir, "trusted_root.json")
	// The public-good root, extracted with registry/README.md's one-liner
	// from the @sigstore/tuf that ships inside npm.
	publicGood := filepath.Join(dir, "public-good.json")
	extract := `node -e 'const s=require(process.argv[1]);process.stdout.write(Buffer.from(s["https://tuf-repo-cdn.sigstore.dev"].targets["trusted_root.json"],"base64"))' "$(npm root -g)/npm/node_modules/@sigstore/tuf/seeds.json" > ` + publicGood
	if out, err := exec.Command("sh", "-c", extract).CombinedOutput(); err != nil {
		t.Fatalf("extracting the public-good root: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(publicGood); !strings.Contains(string(b), "https://rekor.sigstore.dev") {
		t.Fatalf("extracted public-good root does not name rekor.sigstore.dev: %.200s", b)
	}
	base, errb, stop := runCommand(t, "registry", "--data-dir", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0",
		"--trusted-root", "private="+rootPath, "--public-good-root", publicGood, "--log-url", trustURL, "--commit-check", "off")
	if code, body := getBody(t, base+"-/log", "text/html"); code != http.StatusOK || !strings.Contains(body, "verified with trusted log key") {
		t.Errorf("GET /-/log = %d, want the checkpoint verified with the private root's log key:\n%.2000s", code, body)
	}
	if code, body := getBody(t, base+"-/ping", "application/json"); code != http.StatusOK || strings.TrimSpace(body) != "{}" {
		t.Errorf("GET /-/ping = %d %q", code, body)
	}
	if strings.Contains(errb.String(), "no trusted root") {
		t.Errorf("warned about missing trusted roots although one was given: %s", errb.String())
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

// TestRegistryCommandWithoutTrustedRoot starts with no trusted root: the
// registry serves, warns naming the flags, and the pages say no log is
// configured; a default policy requiring provenance is refused at start.
func TestRegistryCommandWithoutTrustedRoot(t *testing.T) {
	t.Setenv("PROVENANT_REGISTRY_POSTGRES", "")
	dir := t.TempDir()
	base, errb, stop := runCommand(t, "registry", "--data-dir", filepath.Join(dir, "data"), "--addr", "127.0.0.1:0")
	if code, _ := getBody(t, base+"-/ping", "application/json"); code != http.StatusOK {
		t.Errorf("GET /-/ping = %d", code)
	}
	if code := stop(); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "no trusted root is configured") || !strings.Contains(errb.String(), "--trusted-root") {
		t.Errorf("stderr lacks the warning naming --trusted-root: %s", errb.String())
	}

	strict := filepath.Join(dir, "strict.yaml")
	os.WriteFile(strict, []byte("verification:\n  policy:\n    default: { provenanceRequired: true }\n"), 0o600)
	var out, serr bytes.Buffer
	code := Run(context.Background(), []string{"registry", "--config", strict, "--data-dir", filepath.Join(dir, "strict"), "--addr", "127.0.0.1:0"}, &out, &serr)
	if code == ExitOK || !strings.Contains(serr.String(), "requires provenance") || !strings.Contains(serr.String(), "--trusted-root") {
		t.Errorf("provenance required without a root: exit %d, stderr %q", code, serr.String())
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
// skipping the test when it is unreachable, or failing it in CI (CI set),
// where PostgreSQL is always there.
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
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL not reachable at %s (CI is set, so this fails instead of skipping): %v", dsn, err)
		}
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
