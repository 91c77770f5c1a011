package store

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

// blobPrefix starts every content-addressed blob key.
const blobPrefix = "sha512/"

// BlobKey returns the content address of data: "sha512/<hex>".
func BlobKey(data []byte) string {
	sum := sha512.Sum512(data)
	return blobPrefix + hex.EncodeToString(sum[:])
}

// Blobs is a content-addressed blob area over a gocloud.dev bucket, shared
// by the backends (the bucket can be a directory, S3 or GCS).
type Blobs struct {
	bucket *blob.Bucket
	// mu keeps Sweep's reference check and deletes apart from publishes
	// between their first blob write and their commit (within a process).
	mu sync.RWMutex
}

// OpenFileBlobs opens (creating it if needed) a blob area in dir.
func OpenFileBlobs(dir string) (*Blobs, error) {
	b, err := fileblob.OpenBucket(dir, &fileblob.Options{CreateDir: true, NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, fmt.Errorf("open blob directory %s: %w", dir, err)
	}
	return &Blobs{bucket: b}, nil
}

// NewBlobs wraps an open bucket; Close closes it.
func NewBlobs(b *blob.Bucket) *Blobs { return &Blobs{bucket: b} }

// Put writes data under its content address and returns the key. It always
// writes, even when the blob exists, so that the blob's modification time
// protects it from a concurrent Sweep until the publish commits.
func (b *Blobs) Put(ctx context.Context, data []byte) (string, error) {
	key := BlobKey(data)
	if err := b.bucket.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: "application/octet-stream"}); err != nil {
		return "", fmt.Errorf("write blob %s: %w", key, err)
	}
	return key, nil
}

// Guard runs publish (blob writes then the metadata commit) so that no
// Sweep in this process can delete its blobs before it commits.
func (b *Blobs) Guard(publish func() error) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return publish()
}

// Open opens a blob and returns its size; a missing blob wraps ErrNotFound.
func (b *Blobs) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	r, err := b.bucket.NewReader(ctx, key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil, 0, fmt.Errorf("blob %s: %w", key, ErrNotFound)
		}
		return nil, 0, fmt.Errorf("open blob %s: %w", key, err)
	}
	return r, r.Size(), nil
}

// Exists reports whether a blob exists.
func (b *Blobs) Exists(ctx context.Context, key string) (bool, error) {
	return b.bucket.Exists(ctx, key)
}

// tempSuffix ends the name of the temporary file fileblob writes a blob to
// ("<key>.<nanoseconds in hex>.tmp", next to the final file) before renaming
// it into place. A write cut off by SIGKILL leaves it behind.
const tempSuffix = ".tmp"

// Sweep deletes blobs older than grace that live does not report as
// referenced, and the temporary files of blob writes older than grace
// (writes that died before renaming them into place; a live write keeps
// its file younger than grace by writing to it, or holds Guard). live is
// called after the listing, so a blob written by a publish that commits
// meanwhile is young and survives. Sweep returns how many files it
// deleted, temporary ones included.
func (b *Blobs) Sweep(ctx context.Context, grace time.Duration, live func(ctx context.Context) (map[string]bool, error)) (int, error) {
	cutoff := time.Now().Add(-grace)
	var old, temps []string
	it := b.bucket.List(&blob.ListOptions{Prefix: blobPrefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("list blobs: %w", err)
		}
		switch {
		case obj.IsDir || !obj.ModTime.Before(cutoff):
		case strings.HasSuffix(obj.Key, tempSuffix):
			temps = append(temps, obj.Key)
		default:
			old = append(old, obj.Key)
		}
	}
	if len(old) == 0 && len(temps) == 0 {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, k := range temps {
		if err := b.bucket.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("delete temporary blob file %s: %w", k, err)
		}
		n++
	}
	if len(old) == 0 {
		return n, nil
	}
	refs, err := live(ctx)
	if err != nil {
		return n, err
	}
	for _, k := range old {
		if refs[k] {
			continue
		}
		if err := b.bucket.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("delete blob %s: %w", k, err)
		}
		n++
	}
	return n, nil
}

// Close closes the bucket.
func (b *Blobs) Close() error { return b.bucket.Close() }
