package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/sigstore/rekor/pkg/generated/models"
)

// maxLogResponseBytes caps a response read from the transparency log. An
// entry holds one certificate and one envelope digest, far below this.
const maxLogResponseBytes = 2 << 20

// errLogNotFound reports an entry the log does not have.
var errLogNotFound = fmt.Errorf("log entry %w", os.ErrNotExist)

// A logError is a log response the viewer could not use.
type logError struct {
	URL    string
	Status int
	Err    error
}

func (e *logError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("reading %s: %v", e.URL, e.Err)
	}
	return fmt.Sprintf("reading %s: HTTP %d", e.URL, e.Status)
}

func (e *logError) Unwrap() error { return e.Err }

// rekorClient reads a Rekor v1 API: the log info, entries by index and
// UUID, and consistency proofs. It only reads; it trusts nothing it gets
// back until the viewer has checked it.
type rekorClient struct {
	base *url.URL
	hc   *http.Client
}

func newRekorClient(base string, hc *http.Client) (*rekorClient, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: log URL %q is not an http(s) URL", base)
	}
	return &rekorClient{base: u, hc: hc}, nil
}

// get fetches path?query into v. A 404 returns errLogNotFound.
func (c *rekorClient) get(ctx context.Context, path string, query url.Values, v any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return &logError{URL: u.String(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errLogNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return &logError{URL: u.String(), Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLogResponseBytes+1))
	if err != nil {
		return &logError{URL: u.String(), Err: err}
	}
	if len(body) > maxLogResponseBytes {
		return &logError{URL: u.String(), Err: fmt.Errorf("response exceeds %d bytes", maxLogResponseBytes)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &logError{URL: u.String(), Err: fmt.Errorf("decoding response: %w", err)}
	}
	return nil
}

// info returns the log's current tree head.
func (c *rekorClient) info(ctx context.Context) (*models.LogInfo, error) {
	var li models.LogInfo
	if err := c.get(ctx, "/api/v1/log", nil, &li); err != nil {
		return nil, err
	}
	if li.TreeSize == nil || li.RootHash == nil || li.SignedTreeHead == nil {
		return nil, &logError{URL: c.base.String() + "/api/v1/log", Err: errors.New("log info lacks treeSize, rootHash or signedTreeHead")}
	}
	return &li, nil
}

// entry fetches one entry by index (all digits) or by UUID.
func (c *rekorClient) entry(ctx context.Context, id string) (string, models.LogEntryAnon, error) {
	var le models.LogEntry
	var err error
	if _, perr := strconv.ParseInt(id, 10, 64); perr == nil {
		err = c.get(ctx, "/api/v1/log/entries", url.Values{"logIndex": {id}}, &le)
	} else {
		err = c.get(ctx, "/api/v1/log/entries/"+url.PathEscape(id), nil, &le)
	}
	if err != nil {
		return "", models.LogEntryAnon{}, err
	}
	if len(le) != 1 {
		return "", models.LogEntryAnon{}, &logError{URL: c.base.String(), Err: fmt.Errorf("expected one entry, got %d", len(le))}
	}
	for uuid, e := range le {
		return uuid, e, nil
	}
	panic("unreachable")
}

// consistency fetches a consistency proof between two tree sizes.
func (c *rekorClient) consistency(ctx context.Context, first, last int64) (*models.ConsistencyProof, error) {
	var cp models.ConsistencyProof
	q := url.Values{"firstSize": {strconv.FormatInt(first, 10)}, "lastSize": {strconv.FormatInt(last, 10)}}
	if err := c.get(ctx, "/api/v1/log/proof", q, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}
