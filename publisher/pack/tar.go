package pack

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"path"
	"strconv"
	"time"
	"unicode/utf8"
)

// Mtime is the modification time npm writes on every tarball entry,
// 1985-10-26T08:15:00Z, chosen because zip tools mishandle the Unix epoch.
var Mtime = time.Date(1985, time.October, 26, 8, 15, 0, 0, time.UTC)

const blockSize = 512

// tarWriter writes a tar stream byte for byte as node-tar (the archiver
// npm uses) does with portable: true: ustar headers with empty uid, gid,
// uname and gname fields, a pax extended header only when a name does
// not fit, and a 1024-byte end-of-archive marker.
type tarWriter struct {
	buf bytes.Buffer
}

// addFile appends one regular file entry.
func (t *tarWriter) addFile(name string, mode int64, data []byte) {
	zero := int64(0)
	h := header{path: name, mode: mode, size: int64(len(data)), typ: '0', mtime: Mtime.Unix(), devmaj: &zero, devmin: &zero}
	block, needPax := h.encode()
	if needPax {
		t.writePax(name, int64(len(data)))
	}
	t.buf.Write(block)
	t.buf.Write(data)
	if pad := len(data) % blockSize; pad != 0 {
		t.buf.Write(make([]byte, blockSize-pad))
	}
}

// writePax writes node-tar's extended header carrying path, mtime and size.
func (t *tarWriter) writePax(name string, size int64) {
	body := paxField("path", name) + paxField("mtime", strconv.FormatInt(Mtime.Unix(), 10)) + paxField("size", strconv.FormatInt(size, 10))
	paxName := "PaxHeader/" + path.Base(name)
	if len(paxName) > 99 {
		paxName = paxName[:99]
	}
	zero := int64(0)
	h := header{path: paxName, mode: 0o644, size: int64(len(body)), typ: 'x', mtime: Mtime.Unix(), devmaj: &zero, devmin: &zero}
	block, _ := h.encode()
	t.buf.Write(block)
	t.buf.WriteString(body)
	if pad := len(body) % blockSize; pad != 0 {
		t.buf.Write(make([]byte, blockSize-pad))
	}
}

// paxField renders one "LEN key=value\n" record, LEN counting itself.
func paxField(key, value string) string {
	s := " " + key + "=" + value + "\n"
	n := len(s)
	digits := len(strconv.Itoa(n))
	if n+digits >= pow10(digits) {
		digits++
	}
	return strconv.Itoa(digits+n) + s
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// close appends the end-of-archive marker and returns the tar bytes.
func (t *tarWriter) close() []byte {
	t.buf.Write(make([]byte, 2*blockSize))
	return t.buf.Bytes()
}

type header struct {
	path           string
	mode, size     int64
	mtime          int64
	typ            byte
	devmaj, devmin *int64
}

// encode renders a ustar header block; needPax reports that some field
// did not fit (or was not ASCII) and an extended header must precede it.
func (h header) encode() (block []byte, needPax bool) {
	buf := make([]byte, blockSize)
	name, prefix, tooLong := splitPrefix(h.path, 155)
	needPax = tooLong
	needPax = encString(buf[0:100], name) || needPax
	encOctal(buf[100:108], h.mode)
	// uid (108) and gid (116) stay NUL: portable archives omit them.
	encOctal(buf[124:136], h.size)
	encOctal(buf[136:148], h.mtime)
	buf[156] = h.typ
	copy(buf[257:265], "ustar\x0000")
	// uname (265) and gname (297) stay NUL.
	if h.devmaj != nil {
		encOctal(buf[329:337], *h.devmaj)
	}
	if h.devmin != nil {
		encOctal(buf[337:345], *h.devmin)
	}
	needPax = encString(buf[345:500], prefix) || needPax
	sum := 8 * 0x20
	for i, c := range buf {
		if i < 148 || i >= 156 {
			sum += int(c)
		}
	}
	encOctal(buf[148:156], int64(sum))
	return buf, needPax
}

// encOctal writes node-tar's zero-padded octal: digits, a space and a NUL,
// or all digits and a NUL when the number fills the field.
func encOctal(field []byte, n int64) {
	s := strconv.FormatInt(n, 8)
	size := len(field)
	if len(s) != size-1 {
		s = fmt.Sprintf("%0*s ", size-2, s)
	}
	copy(field, s+"\x00")
}

// encString writes s NUL-padded and reports whether it did not fit or was
// not ASCII.
func encString(field []byte, s string) bool {
	copy(field, s)
	return utf8.RuneCountInString(s) != len(s) || len(s) > len(field)
}

// splitPrefix splits a long path between the 100-byte name field and the
// prefix field as node-tar does.
func splitPrefix(p string, prefixSize int) (name, prefix string, tooLong bool) {
	const pathSize = 100
	if len(p) < pathSize {
		return p, "", false
	}
	pp := path.Base(p)
	prefix = path.Dir(p)
	root := "."
	if path.IsAbs(p) {
		root = "/"
	}
	for {
		switch {
		case len(pp) <= pathSize && len(prefix) <= prefixSize:
			return pp, prefix, false
		case len(pp) > pathSize && len(prefix) <= prefixSize:
			return pp[:pathSize-1], prefix, true
		default:
			pp = path.Join(path.Base(prefix), pp)
			prefix = path.Dir(prefix)
		}
		if prefix == root {
			return p[:pathSize-1], "", true
		}
	}
}

// gzipBytes compresses at level 9 with a zero mtime and the Unix OS byte,
// the same gzip header zlib writes for npm.
func gzipBytes(data []byte) ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	zw.OS = 3
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
