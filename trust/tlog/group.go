package tlog

import (
	"context"

	"github.com/transparency-dev/tessera"
)

// Group commit.
//
// tessera's queue flushes a batch every BatchMaxAge and its POSIX driver
// sequences batches one at a time, each with several fsyncs. When a batch
// takes longer than BatchMaxAge, the queue keeps cutting small batches that
// wait behind it, and throughput collapses to a few entries per fsync round.
// The committer keeps at most one batch in tessera: entries that arrive
// while it is being integrated are handed to tessera together as the next
// batch. At low load an entry waits BatchMaxAge plus one integration; under
// load the batch grows with the arrival rate.

// A pendingEntry is one leaf waiting for its index.
type pendingEntry struct {
	leaf []byte
	done chan indexResult
}

type indexResult struct {
	idx  tessera.Index
	size uint64 // an integrated tree size that contains idx; 0 if unknown
	err  error
}

// submit queues a leaf for the committer and waits for its index and an
// integrated tree size that contains it. A full queue is ErrBusy, at once.
func (l *Log) submit(ctx context.Context, leaf []byte) (tessera.Index, uint64, error) {
	p := &pendingEntry{leaf: leaf, done: make(chan indexResult, 1)}
	select {
	case l.pending <- p:
	default:
		return tessera.Index{}, 0, ErrBusy
	}
	select {
	case r := <-p.done:
		return r.idx, r.size, r.err
	case <-ctx.Done():
		// The entry may still be logged; a retry then gets 409.
		return tessera.Index{}, 0, ctx.Err()
	}
}

// commit runs until ctx ends, handing batches to tessera.
func (l *Log) commit(ctx context.Context) {
	defer close(l.committed)
	max := int(l.cfg.BatchMaxSize)
	batch := make([]*pendingEntry, 0, max)
	futures := make([]tessera.IndexFuture, 0, max)
	for {
		batch, futures = batch[:0], futures[:0]
		select {
		case <-ctx.Done():
			for {
				select {
				case p := <-l.pending:
					p.done <- indexResult{err: ErrClosed}
				default:
					return
				}
			}
		case p := <-l.pending:
			batch = append(batch, p)
		}
	drain:
		for len(batch) < max {
			select {
			case p := <-l.pending:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		for _, p := range batch {
			futures = append(futures, l.appender.Add(ctx, tessera.NewEntry(p.leaf)))
		}
		results := make([]indexResult, len(futures))
		for i, f := range futures {
			results[i].idx, results[i].err = f()
		}
		// One read of the tree size serves the whole batch: every entry
		// of it is integrated once its future has resolved.
		size, err := l.reader.IntegratedSize(ctx)
		if err != nil {
			size = 0 // each answer reads it again
		}
		for i, r := range results {
			r.size = size
			if r.err == nil && size <= r.idx.Index {
				r.size = 0
			}
			batch[i].done <- r
		}
	}
}
