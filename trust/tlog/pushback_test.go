package tlog

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPushback fills the committer's queue (capacity Config.Pushback) and
// checks that the next POST is refused at once with 503 and Retry-After,
// after all of Rekor's checks, and that nothing is appended.
func TestPushback(t *testing.T) {
	l, err := Open(context.Background(), Config{Dir: t.TempDir(), Host: "rekor.test", Pushback: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Stop the committer so the queue stays full.
	l.stopCommit()
	<-l.committed
	l.pending <- &pendingEntry{leaf: []byte("x"), done: make(chan indexResult, 1)}
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	body := []byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}`)
	resp, err := http.Post(srv.URL+"/api/v1/log/entries", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an invalid entry is refused before pushback, got %s", resp.Status)
	}
	leaf := []byte(`{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"valid":"leaf"}}`)
	_, err = l.addLeaf(context.Background(), leaf)
	if err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("addLeaf with a full queue: %v", err)
	}
	rec := httptest.NewRecorder()
	l.fail(rec, httptest.NewRequest(http.MethodPost, "/api/v1/log/entries", nil), err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("busy answer: %d %v", rec.Code, rec.Header())
	}
	if size, _ := l.reader.IntegratedSize(context.Background()); size != 0 {
		t.Errorf("tree size %d after pushback", size)
	}
}
