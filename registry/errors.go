package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/store"
)

// Root error kinds. Each implies an HTTP status; handlers wrap them with
// %w and the server's HTTPErrorHandler maps them in one place.
var (
	// ErrBadRequest reports a malformed request (400).
	ErrBadRequest = errors.New("invalid request")
	// ErrUnauthorized reports missing or bad credentials (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden reports an authenticated user without the right (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound reports a missing package, version, tag or file (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a write that collides with existing state (409).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge reports a body or attachment over a limit (413).
	ErrTooLarge = errors.New("content exceeds limit")
	// ErrUnprocessable reports a publish whose content fails the
	// request-shape check (422).
	ErrUnprocessable = errors.New("request-shape check failed")
)

// provenancePrefix starts every 422 body about a failed provenance check,
// in npm's wording (npm-protocol.md §6.3).
const provenancePrefix = "Error verifying sigstore provenance bundle: "

// statusOf maps an error to its HTTP status and the message the client sees.
func statusOf(err error) (int, string) {
	var ce *provenance.CheckError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ce):
		return http.StatusUnprocessableEntity, provenancePrefix + err.Error()
	case errors.As(err, &he):
		return he.Code, fmt.Sprint(he.Message)
	case errors.Is(err, ErrTooManyRequests):
		return http.StatusTooManyRequests, err.Error()
	case errors.Is(err, ErrUnprocessable):
		return http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, ErrTooLarge), errors.Is(err, npmwire.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.Is(err, ErrBadRequest), errors.Is(err, npmwire.ErrMalformed):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, err.Error()
	case errors.Is(err, ErrForbidden), errors.Is(err, store.ErrPermission):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, ErrNotFound), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, ErrConflict), errors.Is(err, store.ErrConflict):
		return http.StatusConflict, err.Error()
	default:
		return http.StatusInternalServerError, "internal server error"
	}
}

// handleError is the server's echo HTTPErrorHandler: the one place that
// turns errors into statuses and npm's {"error": "..."} body.
func handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := statusOf(err)
	ctx := c.Request().Context()
	if code >= 500 {
		slog.ErrorContext(ctx, "request failed", slog.String("method", c.Request().Method), slog.String("path", logPath(c.Request().URL.Path)), slog.Any("error", err))
	} else {
		slog.DebugContext(ctx, "rejection: "+msg, slog.String("method", c.Request().Method), slog.String("path", logPath(c.Request().URL.Path)), slog.Int("status", code))
	}
	if code == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="provenant"`)
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		c.Response().Header().Set("Retry-After", retryAfterSeconds(rl.RetryAfter))
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(code)
		return
	}
	c.JSON(code, npmwire.ErrorBody{Error: msg})
}

// tokenPathPrefix starts npm logout's path, DELETE /-/user/token/{token},
// which carries a secret.
const tokenPathPrefix = "/-/user/token/"

// logPath is a request path safe to log: npm logout's token is redacted.
func logPath(p string) string {
	if strings.HasPrefix(p, tokenPathPrefix) {
		return tokenPathPrefix + "[redacted]"
	}
	return p
}
