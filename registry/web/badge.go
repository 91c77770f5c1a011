package web

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/registry/verify"
)

// A badgeState is what a provenance badge says about one version.
type badgeState struct {
	Message string
	Color   string
}

// The badge states, shields.io style.
var (
	badgeVerified   = badgeState{Message: "verified", Color: "#4c1"}
	badgeUnverified = badgeState{Message: "unverified commit", Color: "#dfb317"}
	badgeNone       = badgeState{Message: "none", Color: "#9f9f9f"}
	badgeNotFound   = badgeState{Message: "not found", Color: "#9f9f9f"}
)

// badgeLabel is the left-hand text of every badge.
const badgeLabel = "provenance"

// stateOf maps a recorded Result to its badge: verified provenance whose
// commit check did not pass says "unverified commit".
func stateOf(r *verify.Result) badgeState {
	switch {
	case r == nil || !r.Provenance:
		return badgeNone
	case r.CommitStatus == verify.StatusUnverified:
		return badgeUnverified
	default:
		return badgeVerified
	}
}

// verdana11 holds the advance widths, in pixels at 11px, of the characters
// badges use, as shields.io measures them for Verdana; other characters use
// verdana11Default.
var verdana11 = map[rune]float64{
	' ': 3.87, 'a': 6.65, 'b': 6.83, 'c': 5.73, 'd': 6.83, 'e': 6.6, 'f': 3.78, 'g': 6.83,
	'h': 6.97, 'i': 3.01, 'j': 3.78, 'k': 6.51, 'l': 3.01, 'm': 10.7, 'n': 6.97, 'o': 6.68,
	'p': 6.83, 'q': 6.83, 'r': 4.69, 's': 5.73, 't': 4.3, 'u': 6.97, 'v': 6.51, 'w': 8.98,
	'x': 6.51, 'y': 6.51, 'z': 5.76,
}

const verdana11Default = 7.0

// textWidth estimates the rendered width of s in Verdana 11px.
func textWidth(s string) int {
	var w float64
	for _, r := range s {
		if cw, ok := verdana11[r]; ok {
			w += cw
		} else {
			w += verdana11Default
		}
	}
	return int(w + 0.5)
}

var badgeTemplate = template.Must(template.New("badge").Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="20" role="img" aria-label="{{.Label}}: {{.Message}}">
<title>{{.Label}}: {{.Message}}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="{{.Width}}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="{{.LabelBox}}" height="20" fill="#555"/><rect x="{{.LabelBox}}" width="{{.MessageBox}}" height="20" fill="{{.Color}}"/><rect width="{{.Width}}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="11">
<text x="{{.LabelX}}" y="15" fill="#010101" fill-opacity=".3" textLength="{{.LabelText}}" lengthAdjust="spacing">{{.Label}}</text><text x="{{.LabelX}}" y="14" textLength="{{.LabelText}}" lengthAdjust="spacing">{{.Label}}</text>
<text x="{{.MessageX}}" y="15" fill="#010101" fill-opacity=".3" textLength="{{.MessageText}}" lengthAdjust="spacing">{{.Message}}</text><text x="{{.MessageX}}" y="14" textLength="{{.MessageText}}" lengthAdjust="spacing">{{.Message}}</text>
</g>
</svg>
`))

// badgeSVG holds every badge, rendered once: there are only four.
var badgeSVG = func() map[badgeState][]byte {
	m := map[badgeState][]byte{}
	for _, st := range []badgeState{badgeVerified, badgeUnverified, badgeNone, badgeNotFound} {
		m[st] = renderBadge(st)
	}
	return m
}()

// renderBadge draws a shields-style flat badge. Text is escaped by
// html/template, so a message can never inject markup into the SVG.
func renderBadge(st badgeState) []byte {
	const pad = 10
	lt, mt := textWidth(badgeLabel), textWidth(st.Message)
	lb, mb := lt+pad, mt+pad
	data := struct {
		Label, Message, Color                  string
		Width, LabelBox, MessageBox, LabelText int
		MessageText                            int
		LabelX, MessageX                       string
	}{
		Label: badgeLabel, Message: st.Message, Color: st.Color,
		Width: lb + mb, LabelBox: lb, MessageBox: mb, LabelText: lt, MessageText: mt,
		LabelX: fmt.Sprintf("%.1f", float64(lb)/2), MessageX: fmt.Sprintf("%.1f", float64(lb)+float64(mb)/2),
	}
	var b bytes.Buffer
	if err := badgeTemplate.Execute(&b, data); err != nil {
		panic(err) // the template and its data are fixed; a failure is a programming error
	}
	return b.Bytes()
}

// badge serves GET /badge/{name}.svg and /badge/{name}/v/{version}.svg. An
// unknown package or version still gets an SVG ("not found") with status
// 404, so that a README embedding it shows something readable.
func (p *Pages) badge(c echo.Context) error {
	name, version, err := parseBadgePath(strings.TrimPrefix(c.Request().URL.EscapedPath(), "/badge/"))
	if err != nil {
		slog.DebugContext(c.Request().Context(), "rejection: bad badge path", slog.String("path", c.Request().URL.Path))
		return c.String(http.StatusNotFound, err.Error())
	}
	maxAge := latestBadgeMaxAge
	if version != "" {
		maxAge = versionBadgeMaxAge
	}
	status, st := http.StatusOK, badgeNotFound
	_, v, err := p.lookup(c.Request().Context(), name, version)
	switch {
	case err != nil && !p.cfg.IsNotFound(err):
		slog.ErrorContext(c.Request().Context(), "badge lookup", slog.String("package", name), slog.Any("error", err))
		return c.String(http.StatusInternalServerError, "internal error")
	case err != nil || v == nil:
		status, maxAge = http.StatusNotFound, latestBadgeMaxAge
	default:
		st = stateOf(v.Provenance)
	}
	body := badgeSVG[st]
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(body))
	h := c.Response().Header()
	h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(maxAge.Seconds())))
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if status == http.StatusOK && c.Request().Header.Get("If-None-Match") == etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(status, "image/svg+xml; charset=utf-8", body)
}
