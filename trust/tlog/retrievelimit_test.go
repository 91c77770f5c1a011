package tlog_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/provenant/provenant/trust/tlog"
)

// TestRetrieveItemsLimit probes POST /api/v1/log/entries/retrieve at
// MaxRetrieveItems and one past it, counting UUIDs, indexes and proposed
// entries together. Entries the log lacks are left out of a 200 answer.
func TestRetrieveItemsLimit(t *testing.T) {
	tl := openLog(t, t.TempDir())
	indexes := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	uuids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat("ab", 32)
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		query      map[string]any
		wantStatus int
	}{
		{"indexes at the limit", map[string]any{"logIndexes": indexes(tlog.MaxRetrieveItems)}, http.StatusOK},
		{"indexes one past", map[string]any{"logIndexes": indexes(tlog.MaxRetrieveItems + 1)}, http.StatusBadRequest},
		{"mixed at the limit", map[string]any{"logIndexes": indexes(tlog.MaxRetrieveItems - 3), "entryUUIDs": uuids(3)}, http.StatusOK},
		{"mixed one past", map[string]any{"logIndexes": indexes(tlog.MaxRetrieveItems - 3), "entryUUIDs": uuids(4)}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := json.Marshal(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			status, _, raw := do(t, http.MethodPost, tl.url+"/api/v1/log/entries/retrieve", q)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, raw)
			}
			if status == http.StatusOK {
				var got []map[string]json.RawMessage
				if err := json.Unmarshal(raw, &got); err != nil || len(got) != 0 {
					t.Errorf("answer %s (%v), want [] from an empty log", raw, err)
				}
				return
			}
			if !strings.Contains(string(raw), "retrieve-count") {
				t.Errorf("error %s does not name the retrieve-count check", raw)
			}
		})
	}
}
