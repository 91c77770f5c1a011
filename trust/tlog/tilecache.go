package tlog

import (
	"context"
	"sync"

	"github.com/transparency-dev/tessera/client"
)

// tileCacheSize bounds the number of hash tiles kept in memory (a full
// tile is 8 KiB, so about 8 MiB).
const tileCacheSize = 1024

// A tileCache keeps recently read hash tiles. A tile at a given partial
// width never changes (tessera writes a wider partial or the full tile
// under another name), so entries need no invalidation. Every answer with
// an inclusion proof reads the same few tiles near the right edge of the
// tree; the cache saves those file reads.
type tileCache struct {
	read client.TileFetcherFunc
	max  int
	mu   sync.Mutex
	m    map[tileKey][]byte
}

type tileKey struct {
	level, index uint64
	p            uint8
}

func newTileCache(read client.TileFetcherFunc, max int) *tileCache {
	return &tileCache{read: read, max: max, m: make(map[tileKey][]byte, max)}
}

// ReadTile is a client.TileFetcherFunc. Callers must not modify the result.
func (c *tileCache) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	k := tileKey{level, index, p}
	c.mu.Lock()
	t, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := c.read(ctx, level, index, p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		for old := range c.m { // evict an arbitrary entry
			delete(c.m, old)
			break
		}
	}
	c.m[k] = t
	c.mu.Unlock()
	return t, nil
}
