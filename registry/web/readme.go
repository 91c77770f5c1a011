package web

import (
	"bytes"
	"html/template"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// maxReadmeBytes caps the README Markdown rendered on a page; longer READMEs
// are cut at this size (on a rune boundary) and say so.
const maxReadmeBytes = 512 << 10

var (
	markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))
	// readmePolicy is bluemonday's policy for user-generated content: no
	// scripts, no event handlers, no javascript: URLs, rel="nofollow" links.
	readmePolicy = bluemonday.UGCPolicy()
)

// renderReadme turns untrusted Markdown into sanitised HTML. goldmark does
// not pass raw HTML through by default, and bluemonday removes anything
// active that remains, so the result is safe to embed as template.HTML.
func renderReadme(md string) (html template.HTML, truncated bool) {
	if len(md) > maxReadmeBytes {
		cut := maxReadmeBytes
		for cut > 0 && !utf8.RuneStart(md[cut]) {
			cut--
		}
		md, truncated = md[:cut], true
	}
	var b bytes.Buffer
	if err := markdown.Convert([]byte(md), &b); err != nil {
		// goldmark only fails on writer errors, which bytes.Buffer never returns.
		return "", truncated
	}
	return template.HTML(readmePolicy.SanitizeBytes(b.Bytes())), truncated //nolint:gosec // sanitised just above
}
