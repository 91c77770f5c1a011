package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCeilingProcess drives the real ceiling binary through the harness's
// process handling: start and time to first 200, RSS, the payload fetches,
// one short wrk run when wrk is installed, and stop.
func TestCeilingProcess(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "ceiling")
	if out, err := exec.Command("go", "build", "-o", bin, "../ceiling").CombinedOutput(); err != nil {
		t.Fatalf("go build ceiling: %v\n%s", err, out)
	}
	pv, err := newVersion(benchManifest())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"full/bench-pkg.json":          []byte(`{"name":"bench-pkg"}`),
		"abbreviated/bench-pkg.json":   []byte(`{"name":"bench-pkg","modified":"x"}`),
		"tarballs/bench-pkg-1.0.0.tgz": pv.Tarball,
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := newCeiling(dir, bin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := c.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	if d <= 0 || d > 30*time.Second {
		t.Errorf("startup %v out of range", d)
	}
	if _, err := c.start(ctx); err == nil {
		t.Error("second start of a running target succeeded")
	}
	rss, err := c.rss()
	if err != nil || rss < 1<<20 {
		t.Errorf("rss = %d, %v; want at least 1 MiB", rss, err)
	}
	full, abbr, tgz, err := benchPayloads(c.Base())
	if err != nil {
		t.Fatal(err)
	}
	if string(full) != string(files["full/bench-pkg.json"]) || string(abbr) != string(files["abbreviated/bench-pkg.json"]) || string(tgz) != string(pv.Tarball) {
		t.Fatalf("payloads differ from the files served")
	}
	if _, err := exec.LookPath("wrk"); err == nil {
		w, out, err := runWrk(ctx, c.Base()+"/bench-pkg", "", 4, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if w.RPS <= 0 || w.Requests <= 0 || w.Errors != 0 || w.P99MS <= 0 {
			t.Fatalf("wrk against the ceiling: %+v\n%s", w, out)
		}
	} else {
		t.Log("wrk not installed: load run not exercised")
	}
	c.stop()
	if _, err := c.rss(); err == nil {
		t.Error("rss of a stopped target succeeded")
	}
	if _, err := get(c.Base(), "/bench-pkg", ""); err == nil {
		t.Error("stopped ceiling still answers")
	}
}

// TestStartFailure reports a server that exits during startup.
func TestStartFailure(t *testing.T) {
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{Name: "false", Addr: addr, Argv: []string{"false"}, Log: filepath.Join(t.TempDir(), "log"), ReadyPath: "/"}
	if _, err := tg.start(context.Background()); err == nil {
		t.Fatal("start of a server that exits succeeded")
	}
}
