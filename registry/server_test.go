package registry

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListenAndServe serves on a loopback port, answers /-/ping, /healthz
// and /metrics, and shuts down gracefully when the context ends.
func TestListenAndServe(t *testing.T) {
	srv, err := New(context.Background(), Config{DataDir: t.TempDir(), SweepInterval: time.Hour}, WithVerifier(&fakeVerifier{}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	base := "http://" + (<-addrc).String()
	for path, want := range map[string]string{"/-/ping": "{}", "/healthz": "ok", "/metrics": "provenant_registry_publish_seconds"} {
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
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	if _, err := http.Get(base + "/-/ping"); err == nil {
		t.Error("still serving after shutdown")
	}
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
}

func TestNewRequiresDataDir(t *testing.T) {
	if _, err := New(context.Background(), Config{}, WithVerifier(&fakeVerifier{})); err == nil {
		t.Fatal("New without a data directory succeeded")
	}
}
