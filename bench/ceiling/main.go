// Command ceiling is the bare Go ceiling of the benchmark harness: a plain
// net/http server that answers every request from bytes held in memory, with
// one map lookup and no storage, logging or middleware. It serves the same
// packuments (full and abbreviated) and tarballs that Provenant served, so
// its requests/s is what a Go HTTP server can reach on this machine, and an
// npm install from it is the client's floor: what npm takes when the
// registry costs nothing.
//
// Usage:
//
//	ceiling -addr 127.0.0.1:PORT -dir DIR
//
// DIR holds full/NAME.json, abbreviated/NAME.json and tarballs/FILE.tgz,
// with NAME path-escaped. GET /NAME answers the full packument, or the
// abbreviated one when the Accept header names npm's abbreviated media
// type; GET /NAME/-/FILE.tgz answers the tarball; anything else is a 404.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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
	dir := fs.String("dir", "", "directory holding full/, abbreviated/ and tarballs/")
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

// handler answers from maps filled once at startup.
type handler struct {
	full, abbreviated, tarballs map[string][]byte
}

func load(dir string) (*handler, error) {
	h := &handler{}
	for _, f := range []struct {
		sub, ext string
		dst      *map[string][]byte
	}{
		{"full", ".json", &h.full},
		{"abbreviated", ".json", &h.abbreviated},
		{"tarballs", ".tgz", &h.tarballs},
	} {
		*f.dst = map[string][]byte{}
		entries, err := os.ReadDir(filepath.Join(dir, f.sub))
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), f.ext) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, f.sub, e.Name()))
			if err != nil {
				return nil, err
			}
			key := strings.TrimSuffix(e.Name(), f.ext)
			if f.ext == ".tgz" {
				key = e.Name()
			}
			if key, err = url.PathUnescape(key); err != nil {
				return nil, err
			}
			(*f.dst)[key] = b
		}
	}
	if len(h.full) == 0 {
		return nil, fmt.Errorf("no packuments in %s/full", dir)
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	ctype := "application/json"
	name, file, isTarball := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/-/")
	switch {
	case isTarball:
		body, ctype = h.tarballs[file], "application/octet-stream"
	case strings.Contains(r.Header.Get("Accept"), abbreviatedMediaType):
		body, ctype = h.abbreviated[name], abbreviatedMediaType
	default:
		body = h.full[name]
	}
	if body == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
