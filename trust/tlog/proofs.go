package tlog

import (
	"context"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// A proofBuilder builds inclusion and consistency proofs for one tree size
// from tessera's hash tiles, and is safe for concurrent use.
//
// It works as tessera's client.ProofBuilder does: transparency-dev/merkle's
// proof.Inclusion and proof.Consistency name the nodes, each node is read
// from its tile (a tile stores only the bottom row of its eight levels, so
// a node above it is the compact-range root of the leaves below it), and
// proof.Nodes.Rehash folds the ephemeral nodes of the right edge. The
// difference is that node hashes are memoised: client.ProofBuilder hashes
// up to 255 tile leaves again for every proof, which was the largest cost
// of answering a batch, whose proofs share nearly all their nodes.
type proofBuilder struct {
	size  uint64
	fetch client.TileFetcherFunc

	mu    sync.Mutex
	tiles map[[2]uint64]api.HashTile // by tile level and index
	nodes map[compact.NodeID][]byte
}

func newProofBuilder(size uint64, fetch client.TileFetcherFunc) *proofBuilder {
	return &proofBuilder{size: size, fetch: fetch, tiles: map[[2]uint64]api.HashTile{}, nodes: map[compact.NodeID][]byte{}}
}

// inclusionProof proves leaf i in the tree of the builder's size.
func (b *proofBuilder) inclusionProof(ctx context.Context, i uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(i, b.size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof node list: %w", err)
	}
	return b.fetchNodes(ctx, nodes)
}

// consistencyProof proves that the tree of size first is a prefix of the
// tree of size last (≤ the builder's size).
func (b *proofBuilder) consistencyProof(ctx context.Context, first, last uint64) ([][]byte, error) {
	if last > b.size {
		return nil, fmt.Errorf("consistency proof to %d is beyond tree size %d", last, b.size)
	}
	nodes, err := proof.Consistency(first, last)
	if err != nil {
		return nil, fmt.Errorf("consistency proof node list: %w", err)
	}
	return b.fetchNodes(ctx, nodes)
}

func (b *proofBuilder) fetchNodes(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, 0, len(nodes.IDs))
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range nodes.IDs {
		h, err := b.node(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("node %v: %w", id, err)
		}
		hashes = append(hashes, h)
	}
	return nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
}

// node returns the hash of a complete subtree; b.mu is held.
func (b *proofBuilder) node(ctx context.Context, id compact.NodeID) ([]byte, error) {
	if h, ok := b.nodes[id]; ok {
		return h, nil
	}
	tileLevel, tileIndex, nodeLevel, nodeIndex := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	tk := [2]uint64{tileLevel, tileIndex}
	t, ok := b.tiles[tk]
	if !ok {
		raw, err := b.fetch(ctx, tileLevel, tileIndex, layout.PartialTileSize(tileLevel, tileIndex, b.size))
		if err != nil {
			return nil, fmt.Errorf("read tile %d/%d: %w", tileLevel, tileIndex, err)
		}
		if err := t.UnmarshalText(raw); err != nil {
			return nil, fmt.Errorf("parse tile %d/%d: %w", tileLevel, tileIndex, err)
		}
		b.tiles[tk] = t
	}
	first := nodeIndex << nodeLevel
	last := first + 1<<nodeLevel
	if last > uint64(len(t.Nodes)) {
		return nil, fmt.Errorf("tile %d/%d has %d leaves, node needs [%d, %d)", tileLevel, tileIndex, len(t.Nodes), first, last)
	}
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for _, leaf := range t.Nodes[first:last] {
		if err := r.Append(leaf, nil); err != nil {
			return nil, err
		}
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		return nil, err
	}
	b.nodes[id] = h
	return h, nil
}
