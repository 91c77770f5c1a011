package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxResponseBytes caps every response body the publisher reads
// (packuments of large packages run to tens of megabytes).
const maxResponseBytes = 64 << 20

// A caller performs HTTP calls with a timeout per attempt and retries with
// exponential backoff on 429, 5xx and network errors, when the request is
// safe to repeat.
type caller struct {
	client  *http.Client
	timeout time.Duration
	retries int
	backoff time.Duration
	ua      string
}

// response is a fully read HTTP response.
type response struct {
	// attempts is how many requests were sent to get this response.
	attempts int
	status   int
	header   http.Header
	body     []byte
}

// do sends the request built by newReq. retryAll allows retrying after a
// network error or 5xx even when the request may have reached the
// server; otherwise only failures that certainly did not (connection
// refused, 429, 502, 503, 504) are retried.
func (c *caller) do(ctx context.Context, method, url string, header http.Header, body []byte, retryAll bool) (*response, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, method, url, header, body)
		retry, wait := false, c.backoff<<attempt
		switch {
		case err != nil:
			lastErr = err
			retry = retryAll || isDialError(err)
		case resp.status == http.StatusTooManyRequests || resp.status == http.StatusBadGateway ||
			resp.status == http.StatusServiceUnavailable || resp.status == http.StatusGatewayTimeout:
			retry = true
			if ra, perr := strconv.Atoi(resp.header.Get("Retry-After")); perr == nil && ra >= 0 {
				wait = min(time.Duration(ra)*time.Second, 30*time.Second)
			}
		case resp.status >= 500 && retryAll:
			retry = true
		default:
			resp.attempts = attempt + 1
			return resp, nil
		}
		if !retry || attempt >= c.retries || ctx.Err() != nil {
			if err != nil {
				return nil, err
			}
			resp.attempts = attempt + 1
			return resp, nil
		}
		slog.DebugContext(ctx, "retrying request", slog.String("method", method), slog.String("url", url),
			slog.Int("attempt", attempt+1), slog.Duration("wait", wait), slog.Any("error", lastErr))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (c *caller) once(ctx context.Context, method, url string, header http.Header, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading response: %w", method, url, err)
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: response over %d bytes", method, url, maxResponseBytes)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// isDialError reports a failure to connect, after which the request
// certainly was not received.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// registryError builds a *RegistryError from a failed response, taking
// the message from npm's {"error": …} body (or {"message": …}).
func registryError(method, url string, r *response) *RegistryError {
	e := &RegistryError{Method: method, URL: url, Status: r.status, Code: "E" + strconv.Itoa(r.status)}
	var body struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Reason  string          `json:"reason"`
	}
	if json.Unmarshal(r.body, &body) == nil {
		var s string
		if json.Unmarshal(body.Error, &s) == nil && s != "" {
			e.Message = s
		} else if body.Message != "" {
			e.Message = body.Message
		} else if body.Reason != "" {
			e.Message = body.Reason
		}
	}
	if e.Message == "" {
		if t := strings.TrimSpace(string(r.body)); t != "" && len(t) < 500 && !strings.HasPrefix(t, "<") {
			e.Message = t
		}
	}
	return e
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Unknown"
}
