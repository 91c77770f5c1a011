package devstack

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeRunTimeout bounds `make run` up to the printed URLs; it includes
// building the binary, which is slow on a cold build cache.
const makeRunTimeout = 5 * time.Minute

// TestMakeRun runs `make run` from the repository root end to end, as a
// newcomer would: it builds the binary, starts `provenant dev --demo`,
// which publishes examples/hello-provenance with provenance. The test
// waits for dev.json to name the demo, fetches the package page and the
// badge, then stops the stack with Ctrl-C (SIGINT) and checks it exits
// cleanly.
func TestMakeRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the dev stack")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("make is not installed: %v", err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, "Makefile")); err != nil {
		t.Fatalf("no Makefile at the repository root: %v", err)
	}
	data := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "PROVENANT_DATA="+data)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var output strings.Builder
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		}
	}
	t.Cleanup(func() {
		stop()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})

	// Wait for the demo's URLs.
	deadline := time.After(makeRunTimeout)
	for !strings.Contains(output.String(), "press Ctrl-C to stop") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("make run exited before serving:\n%s", output.String())
			}
			output.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("make run did not finish its setup within %s:\n%s", makeRunTimeout, output.String())
		}
	}
	go func() { // keep draining, so the stack never blocks on a full pipe
		for l := range lines {
			t.Log(l)
		}
	}()
	t.Logf("make run output:\n%s", output.String())
	b, err := os.ReadFile(filepath.Join(data, InfoFile))
	if err != nil {
		t.Fatal(err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if info.Demo == nil || info.Demo.Package != "hello-provenance" {
		t.Fatalf("dev.json has no demo: %s", b)
	}
	for _, want := range []string{info.Demo.PageURL, info.Demo.BadgeURL, info.Demo.LogEntryURL} {
		if !strings.Contains(output.String(), want) {
			t.Errorf("make run did not print %s", want)
		}
	}
	page := fetch(t, info.Demo.PageURL, "text/html")
	for _, want := range []string{"Built and signed on GitHub Actions", "https://github.com/provenant-demo/hello-provenance/commit/" + info.Demo.Commit, "Source commit existence: <strong class=\"ok\">verified</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("package page lacks %q", want)
		}
	}
	if badge := fetch(t, info.Demo.BadgeURL, "image/svg+xml"); !strings.Contains(badge, "<title>provenance: verified</title>") {
		t.Errorf("badge: %s", badge)
	}
	if entry := fetch(t, info.Demo.LogEntryURL, "text/html"); !strings.Contains(entry, "https://github.com/provenant-demo/hello-provenance/.github/workflows/") {
		t.Errorf("log entry page lacks the certificate SAN")
	}

	// Ctrl-C reaches the whole foreground process group, as in a
	// terminal: make reports the interrupt, and provenant shuts the stack
	// down cleanly, which removes dev.json.
	stop()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Errorf("make run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("make run did not stop within 30s of SIGINT")
	}
	if _, err := os.Stat(filepath.Join(data, InfoFile)); !os.IsNotExist(err) {
		t.Errorf("dev.json left behind, so the stack did not shut down cleanly: %v", err)
	}
}

// fetch GETs url with an Accept header and returns the body of a 200.
func fetch(t *testing.T, url, accept string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	return string(b)
}
