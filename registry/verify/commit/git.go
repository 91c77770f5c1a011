package commit

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// DefaultMaxPackBytes caps the packfile a [Git] checker reads. A one-commit
// answer is a few hundred bytes; the fallback (the commit history of every
// branch and tag, without trees or blobs) is about 250 bytes per commit, so
// this admits histories of a few hundred thousand commits.
const DefaultMaxPackBytes = 64 << 20

// ErrPackTooLarge reports that a server sent a packfile over the limit, or
// one whose header claims more objects than the limit can hold.
var ErrPackTooLarge = fmt.Errorf("%w: packfile over the size limit", ErrUnavailable)

// minPackObjectBytes is the least room an object takes in a packfile: git
// writes each as a type-and-size byte followed by a complete zlib stream
// (2-byte header, at least 2 bytes of deflate, 4-byte checksum). A pack of
// n bytes therefore holds at most n/minPackObjectBytes objects, which
// bounds the object count a header may claim: go-git sizes its indexes by
// that count before reading any object.
const minPackObjectBytes = 9

// Git checks commits over git's smart HTTP protocol. The zero value is
// usable: it fetches repoURL + ".git" with http.DefaultClient. Repository
// URLs must be https unless a rewrite maps them (possibly to http).
type Git struct {
	// Client makes the HTTP requests; nil means http.DefaultClient.
	Client *http.Client
	// Rewrites maps repository URLs to fetch URLs; see [Rewrites.Apply].
	Rewrites Rewrites
	// MaxPackBytes caps the packfile read; 0 means DefaultMaxPackBytes.
	MaxPackBytes int64
}

var _ Checker = (*Git)(nil)

// Check implements Checker.
func (g *Git) Check(ctx context.Context, repoURL, sha string) error {
	if _, err := validate(repoURL, sha); err != nil {
		return err
	}
	if len(sha) != 40 {
		return unavailable(repoURL, sha, errors.New("sha256 repositories are not supported by the git checker"))
	}
	fetchURL, rewritten := g.Rewrites.Apply(repoURL)
	if !rewritten && !strings.HasPrefix(repoURL, "https://") {
		// Plain http only where the operator mapped a URL to it (a local
		// forge); a certificate cannot steer the registry to http hosts.
		return notFound(repoURL, sha, fmt.Errorf("%w: %q is not an https URL and no rewrite maps it", ErrNotFound, repoURL))
	}
	if !strings.HasSuffix(fetchURL, ".git") {
		fetchURL += ".git"
	}
	ep, err := transport.NewEndpoint(fetchURL)
	if err != nil {
		return notFound(repoURL, sha, err)
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	sess, err := githttp.NewClient(client).NewUploadPackSession(ep, nil)
	if err != nil {
		return unavailable(repoURL, sha, err)
	}
	defer sess.Close()

	adv, err := sess.AdvertisedReferencesContext(ctx)
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound), errors.Is(err, transport.ErrEmptyRemoteRepository),
		errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		// Forges answer 401/403/404 alike for missing and private
		// repositories: either way the registry cannot see the commit.
		return notFound(repoURL, sha, err)
	case err != nil:
		return unavailable(repoURL, sha, err)
	}
	want := plumbing.NewHash(sha)
	if advertised(adv, want) {
		return nil
	}
	caps := adv.Capabilities
	if caps.Supports(capability.AllowReachableSHA1InWant) {
		found, err := g.fetch(ctx, sess, caps, []plumbing.Hash{want}, want, true)
		if err != nil {
			if isNotOurRef(err) {
				return notFound(repoURL, sha, err)
			}
			return unavailable(repoURL, sha, err)
		}
		if !found {
			return notFound(repoURL, sha, errors.New("server sent a pack without the commit"))
		}
		return nil
	}
	// The server only serves what its refs point at: fetch the commit
	// history of every branch and tag and look for the commit in it.
	var tips []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for name, h := range adv.References {
		if (strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/")) && !seen[h] {
			seen[h] = true
			tips = append(tips, h)
		}
	}
	if len(tips) == 0 {
		return notFound(repoURL, sha, errors.New("repository has no branches or tags"))
	}
	found, err := g.fetch(ctx, sess, caps, tips, want, false)
	if err != nil {
		return unavailable(repoURL, sha, err)
	}
	if !found {
		return notFound(repoURL, sha, errors.New("commit is not reachable from any branch or tag"))
	}
	return nil
}

func advertised(adv *packp.AdvRefs, h plumbing.Hash) bool {
	if adv.Head != nil && *adv.Head == h {
		return true
	}
	for _, r := range adv.References {
		if r == h {
			return true
		}
	}
	for _, r := range adv.Peeled {
		if r == h {
			return true
		}
	}
	return false
}

// isNotOurRef reports whether upload-pack refused a want, which git words
// as "not our ref" (and some forges as "want ... not valid").
func isNotOurRef(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not our ref") || strings.Contains(msg, "not valid")
}

// fetch asks upload-pack for wants (one commit deep when shallow), without
// trees or blobs when the server can filter, and reports whether the pack
// holds commit target.
func (g *Git) fetch(ctx context.Context, sess transport.UploadPackSession, caps *capability.List,
	wants []plumbing.Hash, target plumbing.Hash, shallow bool) (bool, error) {
	req := packp.NewUploadPackRequestFromCapabilities(caps)
	req.Wants = wants
	if caps.Supports(capability.NoProgress) {
		// Progress messages are noise to a checker, and their length
		// varies from run to run.
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return false, err
		}
	}
	if shallow && caps.Supports(capability.Shallow) {
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return false, err
		}
		req.Depth = packp.DepthCommits(1)
	}
	if caps.Supports(capability.Filter) {
		if err := req.Capabilities.Set(capability.Filter); err != nil {
			return false, err
		}
		req.Filter = packp.FilterTreeDepth(0)
	}
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return false, err
	}
	defer resp.Close()
	limit := g.MaxPackBytes
	if limit <= 0 {
		limit = DefaultMaxPackBytes
	}
	var r io.Reader = &limitedReader{r: resp, n: limit}
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		r = sideband.NewDemuxer(sideband.Sideband64k, r)
	case req.Capabilities.Supports(capability.Sideband):
		r = sideband.NewDemuxer(sideband.Sideband, r)
	}
	r, err = checkPackHeader(r, limit)
	if err != nil {
		return false, err
	}
	st := memory.NewStorage()
	if err := packfile.UpdateObjectStorage(st, r); err != nil {
		return false, err
	}
	_, err = st.EncodedObject(plumbing.CommitObject, target)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	}
	return err == nil, err
}

// checkPackHeader reads the 12-byte packfile header from r and refuses a
// pack whose object count exceeds what limit bytes can hold; it returns a
// reader that yields the whole pack again. A short or foreign header is
// passed on for the packfile parser to reject.
func checkPackHeader(r io.Reader, limit int64) (io.Reader, error) {
	var hdr [12]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	if n == len(hdr) && string(hdr[:4]) == "PACK" {
		if count := int64(binary.BigEndian.Uint32(hdr[8:])); count > limit/minPackObjectBytes {
			return nil, fmt.Errorf("%w: header claims %d objects, more than %d bytes can hold", ErrPackTooLarge, count, limit)
		}
	}
	return io.MultiReader(bytes.NewReader(hdr[:n]), r), nil
}

// limitedReader reads at most n bytes from r and fails with
// ErrPackTooLarge if r has more.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// At the limit: the stream may end here, or be too long.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, ErrPackTooLarge
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
