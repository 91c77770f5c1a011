// Command ceiling is the bare Go ceiling of the benchmark harness: a plain
// net/http server that answers every request from bytes held in memory, with
// no routing, storage, logging or middleware. It serves the same packument
// (full and abbreviated) and tarball bytes that Provenant served for the
// benchmark package, so its requests/s is what a Go HTTP server can reach on
// this machine and the harness can report Provenant as a fraction of it.
//
// Usage:
//
//	ceiling -addr 127.0.0.1:PORT -dir DIR
//
// DIR holds full.json, abbreviated.json and package.tgz. A request whose path
// ends in .tgz gets the tarball; one whose Accept header names npm's
// abbreviated media type gets abbreviated.json; any other gets full.json.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// abbreviatedMediaType is npm's media type for the abbreviated packument
// (the same constant as npmwire.MediaTypeAbbreviated, repeated here so the
// ceiling links nothing of Provenant's).
const abbreviatedMediaType = "application/vnd.npm.install-v1+json"

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("ceiling", slog.Any("error", err))
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	dir := fs.String("dir", "", "directory holding full.json, abbreviated.json and package.tgz")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required")
	}
	h, err := load(*dir)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to listen on %s: not a loopback IP address", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return http.Serve(ln, h)
}

// handler answers from three byte slices loaded once.
type handler struct {
	full, abbreviated, tarball []byte
}

func load(dir string) (*handler, error) {
	var h handler
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{
		{"full.json", &h.full},
		{"abbreviated.json", &h.abbreviated},
		{"package.tgz", &h.tarball},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		*f.dst = b
	}
	return &h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ctype := h.full, "application/json"
	switch {
	case strings.HasSuffix(r.URL.Path, ".tgz"):
		body, ctype = h.tarball, "application/octet-stream"
	case strings.Contains(r.Header.Get("Accept"), abbreviatedMediaType):
		body, ctype = h.abbreviated, abbreviatedMediaType
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
