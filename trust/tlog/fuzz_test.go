package tlog_test

import (
	"context"
	"os"
	"testing"

	"github.com/provenant/provenant/trust/tlog"
)

func FuzzParseProposedEntry(f *testing.F) {
	f.Add(hashedrekord(signer, []byte("a")))
	f.Add(dsseEntry(signer, []byte(`{}`)))
	f.Add(intotoEntry(signer, []byte(`{}`)))
	if raw, err := os.ReadFile("../../../shared/fixtures/wire/rekor-v1-log-entries-dsse.request.json"); err == nil {
		f.Add(raw)
	}
	f.Add([]byte(`{"apiVersion":"0.0.1","kind":"dsse","spec":{"proposedContent":{"envelope":"{\"payload\":\"\",\"signatures\":[{}]}","verifiers":["AA=="]}}}`))
	f.Add([]byte(`{"apiVersion":"0.0.2","kind":"intoto","spec":{"content":{"envelope":{"payload":"","signatures":[null]}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		leaf, err := tlog.ParseProposedEntry(context.Background(), body)
		if err == nil && len(leaf) == 0 {
			t.Fatal("empty canonical entry without error")
		}
	})
}
