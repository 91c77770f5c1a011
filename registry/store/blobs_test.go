package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"
)

// tempFiles lists the temporary blob files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, tempSuffix) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// startWrite begins a real fileblob write of a blob and leaves it open, as
// a write in flight or one cut off by SIGKILL does, returning the writer
// and its temporary file.
func startWrite(t *testing.T, b *Blobs, dir string, data []byte) (*blob.Writer, string) {
	t.Helper()
	before := map[string]bool{}
	for _, p := range tempFiles(t, dir) {
		before[p] = true
	}
	w, err := b.bucket.NewWriter(context.Background(), BlobKey(data), &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	for _, p := range tempFiles(t, dir) {
		if !before[p] {
			return w, p
		}
	}
	t.Fatalf("the write of %q left no temporary file in %s", data, dir)
	return nil, ""
}

func TestSweepTempFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := OpenFileBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	noRefs := func(context.Context) (map[string]bool, error) { return map[string]bool{}, nil }
	const grace = time.Hour
	old := time.Now().Add(-2 * grace)

	// A write killed long ago, a write killed just now, and a live write.
	_, dead := startWrite(t, b, dir, []byte("killed two hours ago"))
	if err := os.Chtimes(dead, old, old); err != nil {
		t.Fatal(err)
	}
	_, recent := startWrite(t, b, dir, []byte("killed a moment ago"))
	liveData := []byte("still being written")
	live, liveTemp := startWrite(t, b, dir, liveData)

	n, err := b.Sweep(ctx, grace, noRefs)
	if err != nil || n != 1 {
		t.Fatalf("Sweep(%v) = %d, %v; want 1 (the old temporary file)", grace, n, err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("old temporary file %s survived the sweep: %v", dead, err)
	}
	for _, p := range []string{recent, liveTemp} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("temporary file %s younger than the grace period was swept: %v", p, err)
		}
	}

	// The live write completes into a readable blob.
	if _, err := live.Write(liveData[len(liveData)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := live.Close(); err != nil {
		t.Fatalf("finishing the live write after a sweep: %v", err)
	}
	if ok, err := b.Exists(ctx, BlobKey(liveData)); err != nil || !ok {
		t.Fatalf("live write's blob: exists=%v, %v", ok, err)
	}

	// With no grace, the remaining dead write's file goes, and an
	// unreferenced blob with it; a referenced blob stays.
	keep, err := b.Put(ctx, []byte("referenced"))
	if err != nil {
		t.Fatal(err)
	}
	n, err = b.Sweep(ctx, -time.Second, func(context.Context) (map[string]bool, error) { return map[string]bool{keep: true}, nil })
	if err != nil || n != 2 {
		t.Fatalf("Sweep(0) = %d, %v; want 2 (temporary file, unreferenced blob)", n, err)
	}
	if left := tempFiles(t, dir); len(left) != 0 {
		t.Errorf("temporary files left after Sweep(0): %q", left)
	}
	if ok, _ := b.Exists(ctx, keep); !ok {
		t.Errorf("referenced blob %s was swept", keep)
	}
	if ok, _ := b.Exists(ctx, BlobKey(liveData)); ok {
		t.Errorf("unreferenced blob %s survived Sweep(0)", BlobKey(liveData))
	}
}
