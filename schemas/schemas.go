// Package schemas holds Provenant's JSON Schemas (draft 2020-12) and
// validates documents against them.
//
// The schemas are the files *.schema.json in this directory, embedded in
// the binary; a file added here becomes a schema named by its file name
// without ".schema.json". Each declares "$schema" draft 2020-12 and either
// no "$id" or [BaseURL] + its file name. They are compiled once, on first
// use, by santhosh-tekuri/jsonschema, and may refer to each other by file
// name.
//
// The schemas shipped:
//
//	statement-github-v1    npm's statement on GitHub Actions (Statement v1, SLSA v1)
//	statement-gitlab-v0.1  npm's statement on GitLab CI (Statement v0.1, SLSA v0.2)
//	npm-publish-body       npm's publish PUT body (a packument with _attachments)
//
// [Validate] reports the first bad field, in document order, as a JSON
// pointer (RFC 6901) in an [*Error].
//
// The schemas avoid the propertyNames keyword: jsonschema v6.0.3 records
// the instance location of a propertyNames failure without copying it, so
// a later sibling can overwrite it (santhosh-tekuri/jsonschema#269).
// patternProperties with additionalProperties false says the same and
// reports the right location.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Names of the schemas this package ships with.
const (
	StatementGitHubV1  = "statement-github-v1"
	StatementGitLabV01 = "statement-gitlab-v0.1"
	NPMPublishBody     = "npm-publish-body"
)

// BaseURL is the URL the schemas' $id values are relative to.
const BaseURL = "https://provenant.dev/schemas/"

const suffix = ".schema.json"

//go:embed *.schema.json
var files embed.FS

// ErrUnknownSchema is returned for a schema name this package does not have.
var ErrUnknownSchema = errors.New("unknown schema")

// An Error reports that a document does not conform to a schema.
type Error struct {
	// Schema is the schema's name.
	Schema string
	// Pointer is the JSON pointer of the first bad field in document
	// order; "" is the whole document.
	Pointer string
	// Message says what is wrong there.
	Message string
	// Err is the validator's full report, a *jsonschema.ValidationError,
	// or the JSON syntax error.
	Err error
}

// Error names the schema, the pointer and the problem.
func (e *Error) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(document)"
	}
	return fmt.Sprintf("%s schema: %s: %s", e.Schema, p, e.Message)
}

// Unwrap returns the validator's report.
func (e *Error) Unwrap() error { return e.Err }

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compile() (map[string]*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		c.AssertFormat()
		c.UseLoader(noLoader{})
		names, err := fs.Glob(files, "*"+suffix)
		if err != nil {
			compileErr = err
			return
		}
		for _, f := range names {
			b, err := files.ReadFile(f)
			if err != nil {
				compileErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				compileErr = fmt.Errorf("schemas: %s: %w", f, err)
				return
			}
			if err := c.AddResource(BaseURL+f, doc); err != nil {
				compileErr = fmt.Errorf("schemas: %s: %w", f, err)
				return
			}
		}
		m := make(map[string]*jsonschema.Schema, len(names))
		for _, f := range names {
			s, err := c.Compile(BaseURL + f)
			if err != nil {
				compileErr = fmt.Errorf("schemas: %s: %w", f, err)
				return
			}
			m[strings.TrimSuffix(f, suffix)] = s
		}
		compiled = m
	})
	return compiled, compileErr
}

// noLoader refuses to fetch schemas: every schema is embedded.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas: refusing to load %s: only embedded schemas are used", url)
}

// Names returns the names of the embedded schemas, sorted.
func Names() []string {
	m, err := compile()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Raw returns the text of the named schema.
func Raw(name string) ([]byte, error) {
	b, err := files.ReadFile(strings.TrimSuffix(name, suffix) + suffix)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSchema, name)
	}
	return b, nil
}

// Validate validates the JSON document doc against the named schema (the
// file name, with or without ".schema.json"). A document that is not JSON
// or does not conform gives an [*Error] carrying the JSON pointer of the
// first bad field in document order; an unknown name gives
// [ErrUnknownSchema]; a schema that does not compile is an error of the
// build, reported as such.
func Validate(name string, doc []byte) error {
	m, err := compile()
	if err != nil {
		return err
	}
	name = strings.TrimSuffix(name, suffix)
	s, ok := m[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSchema, name)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return &Error{Schema: name, Message: "invalid JSON: " + err.Error(), Err: err}
	}
	err = s.Validate(v)
	var ve *jsonschema.ValidationError
	if err == nil {
		return nil
	}
	if !errors.As(err, &ve) {
		return &Error{Schema: name, Message: err.Error(), Err: err}
	}
	leaf := firstLeaf(ve, documentOrder(doc))
	return &Error{
		Schema:  name,
		Pointer: pointer(leaf.loc),
		Message: leaf.err.ErrorKind.LocalizedString(printer),
		Err:     ve,
	}
}

var printer = message.NewPrinter(language.English)

// pointer renders an instance location as a JSON pointer (RFC 6901).
func pointer(loc []string) string {
	var sb strings.Builder
	for _, tok := range loc {
		sb.WriteByte('/')
		sb.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return sb.String()
}

// A failure is one leaf of the validator's report, with the location it
// applies to.
type failure struct {
	err *jsonschema.ValidationError
	loc []string
}

// firstLeaf returns the most specific failure that comes first in the
// document: the leaf whose instance location appears first, the deeper
// one on a tie, then the one with the smaller keyword path. A leaf
// reported against a property name (propertyNames) has no location of its
// own and takes its parent's.
func firstLeaf(ve *jsonschema.ValidationError, order map[string]int) failure {
	var leaves []failure
	var walk func(*jsonschema.ValidationError, []string)
	walk = func(e *jsonschema.ValidationError, parent []string) {
		loc := e.InstanceLocation
		if len(loc) < len(parent) {
			loc = parent
		}
		if len(e.Causes) == 0 {
			leaves = append(leaves, failure{e, loc})
			return
		}
		for _, c := range e.Causes {
			walk(c, loc)
		}
	}
	walk(ve, nil)
	rank := func(f failure) int {
		if i, ok := order[pointer(f.loc)]; ok {
			return i
		}
		return len(order)
	}
	return slices.MinFunc(leaves, func(a, b failure) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if la, lb := len(a.loc), len(b.loc); la != lb {
			return lb - la
		}
		return strings.Compare(strings.Join(a.err.ErrorKind.KeywordPath(), "/"), strings.Join(b.err.ErrorKind.KeywordPath(), "/"))
	})
}

// documentOrder maps the JSON pointer of every value in doc to its
// position in the document.
func documentOrder(doc []byte) map[string]int {
	order := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	type frame struct {
		path  string
		array bool
		index int
		key   string
		isKey bool // in an object, the next string token is a key
	}
	var stack []*frame
	// next returns the pointer of the value about to be read.
	next := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.array {
			p := f.path + "/" + strconv.Itoa(f.index)
			f.index++
			return p
		}
		f.isKey = true
		return f.path + pointer([]string{f.key})
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return order
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) > 0 {
			if f := stack[len(stack)-1]; !f.array && f.isKey {
				f.key, f.isKey = tok.(string), false
				continue
			}
		}
		p := next()
		if _, seen := order[p]; !seen {
			order[p] = len(order)
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{path: p, array: d == '[', isKey: d == '{'})
		}
	}
}
