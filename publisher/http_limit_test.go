package publisher

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestResponseBodyLimit serves bodies of maxResponseBytes and one byte
// more, with and without a Content-Length: the first is read whole, the
// second is refused with an error naming the limit.
func TestResponseBodyLimit(t *testing.T) {
	body := bytes.Repeat([]byte("x"), maxResponseBytes+1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n > len(body) {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("chunked") == "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write(body[:n])
	}))
	t.Cleanup(srv.Close)
	c := &caller{client: srv.Client(), timeout: time.Minute, backoff: time.Millisecond}
	for _, tc := range []struct {
		name    string
		n       int
		chunked bool
		wantErr bool
	}{
		{"at the limit", maxResponseBytes, false, false},
		{"one past", maxResponseBytes + 1, false, true},
		{"at the limit, chunked", maxResponseBytes, true, false},
		{"one past, chunked", maxResponseBytes + 1, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := srv.URL + "/?n=" + strconv.Itoa(tc.n)
			if tc.chunked {
				url += "&chunked=1"
			}
			resp, err := c.do(context.Background(), http.MethodGet, url, nil, nil, false)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "response over "+strconv.Itoa(maxResponseBytes)+" bytes") {
					t.Fatalf("err = %v, want the response-size error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != http.StatusOK || len(resp.body) != tc.n {
				t.Errorf("status %d, %d bytes read, want 200 and %d", resp.status, len(resp.body), tc.n)
			}
		})
	}
}
