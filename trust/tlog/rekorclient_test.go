package tlog_test

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"testing"

	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	rekortlog "github.com/sigstore/rekor/pkg/generated/client/tlog"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	rekorverify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// TestRekorClient drives the log with Rekor's own generated client and
// checks every answer with Rekor's own verifier (pkg/verify): SET,
// inclusion proof, checkpoint signature, and consistency between tree heads.
func TestRekorClient(t *testing.T) {
	tl := openLog(t, t.TempDir())
	ctx := context.Background()
	rc, err := rekorclient.GetRekorClient(tl.url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signature.LoadVerifier(tl.log.PublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	add := func(i int) string {
		pe, err := models.UnmarshalProposedEntry(bytesReader(dsseEntry(signer, fmt.Appendf(nil, `{"i":%d}`, i))), jsonConsumer())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rc.Entries.CreateLogEntry(entries.NewCreateLogEntryParamsWithContext(ctx).WithProposedEntry(pe))
		if err != nil {
			t.Fatalf("CreateLogEntry: %v", err)
		}
		for uuid, e := range resp.Payload {
			if err := rekorverify.VerifyLogEntry(ctx, &e, v); err != nil {
				t.Fatalf("VerifyLogEntry(created %s): %v", uuid, err)
			}
			return uuid
		}
		t.Fatal("empty answer")
		return ""
	}
	for i := range 2 {
		add(i)
	}
	info, err := rc.Tlog.GetLogInfo(rekortlog.NewGetLogInfoParamsWithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var old util.SignedCheckpoint
	if err := old.UnmarshalText([]byte(*info.Payload.SignedTreeHead)); err != nil {
		t.Fatal(err)
	}
	var uuid string
	for i := 2; i < 7; i++ {
		uuid = add(i)
	}
	if _, err := rekorverify.VerifyCurrentCheckpoint(ctx, rc, v, &old); err != nil {
		t.Fatalf("VerifyCurrentCheckpoint: %v", err)
	}
	byUUID, err := rc.Entries.GetLogEntryByUUID(entries.NewGetLogEntryByUUIDParamsWithContext(ctx).WithEntryUUID(uuid))
	if err != nil {
		t.Fatal(err)
	}
	byIndex, err := rc.Entries.GetLogEntryByIndex(entries.NewGetLogEntryByIndexParamsWithContext(ctx).WithLogIndex(3))
	if err != nil {
		t.Fatal(err)
	}
	search, err := rc.Entries.SearchLogQuery(entries.NewSearchLogQueryParamsWithContext(ctx).WithEntry(&models.SearchLogQuery{EntryUUIDs: []string{uuid}, LogIndexes: []*int64{ptr(int64(0))}}))
	if err != nil {
		t.Fatal(err)
	}
	all := []models.LogEntry{byUUID.Payload, byIndex.Payload}
	all = append(all, search.Payload...)
	if len(all) != 4 {
		t.Fatalf("%d entries", len(all))
	}
	for _, m := range all {
		for id, e := range m {
			if err := rekorverify.VerifyLogEntry(ctx, &e, v); err != nil {
				t.Errorf("VerifyLogEntry(%s): %v", id, err)
			}
		}
	}
	// A proof for another tree is refused.
	resp, err := http.Get(tl.url + "/api/v1/log/proof?firstSize=1&lastSize=2&treeID=1")
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("proof for another tree: %v %v", err, resp.Status)
	}
	resp.Body.Close()
}

func ptr[T any](v T) *T { return &v }
