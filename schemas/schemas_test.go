package schemas_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
	"github.com/provenant/provenant/schemas"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func statementSchema(env map[string]string) string {
	if env["GITLAB_CI"] != "" {
		return schemas.StatementGitLabV01
	}
	return schemas.StatementGitHubV1
}

func TestEveryFileCompiles(t *testing.T) {
	files, err := filepath.Glob("*.schema.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schema files: %v", err)
	}
	names := schemas.Names()
	for _, f := range files {
		name := strings.TrimSuffix(f, ".schema.json")
		if !slices.Contains(names, name) {
			t.Errorf("%s did not compile into a schema (names %v)", f, names)
		}
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), `"propertyNames"`) {
			t.Errorf("%s uses propertyNames, whose error locations jsonschema v6.0.3 corrupts", f)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema is %v, want draft 2020-12", f, doc["$schema"])
		}
		if id, ok := doc["$id"]; ok && id != schemas.BaseURL+f {
			t.Errorf("%s: $id is %v, want %s (or none)", f, id, schemas.BaseURL+f)
		}
	}
}

// TestOursAndNpms validates the statements Provenant builds and the
// statements and publish bodies npm's own libnpmpublish builds for the
// same jobs.
func TestOursAndNpms(t *testing.T) {
	for _, c := range npmtest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			tarball := []byte("tarball " + c.Name)
			ours, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, tarball)
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas.Validate(statementSchema(c.Env), ours); err != nil {
				t.Errorf("ours: %v", err)
			}
			pkg, _ := json.Marshal(map[string]any{
				"name": c.PackageName, "version": c.Version, "description": "demo",
				"repository": map[string]string{"type": "git", "url": "git+https://github.com/provenant-demo/hello-provenance.git"},
			})
			npm := npmtest.Publish(t, c.Env, pkg, tarball)
			if err := schemas.Validate(statementSchema(c.Env), npm.Statement); err != nil {
				t.Errorf("npm's statement: %v", err)
			}
			if err := schemas.Validate(schemas.NPMPublishBody, npm.Body); err != nil {
				t.Errorf("npm's publish body: %v", err)
			}
			// A GitHub statement is not a GitLab one and vice versa.
			other := schemas.StatementGitLabV01
			if statementSchema(c.Env) == other {
				other = schemas.StatementGitHubV1
			}
			var se *schemas.Error
			if err := schemas.Validate(other, ours); !errors.As(err, &se) || se.Pointer != "/_type" {
				t.Errorf("against %s: got %v, want a failure at /_type", other, err)
			}
		})
	}
}

func TestRealWorldStatement(t *testing.T) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(realworld.SigstoreJSBundle(t)); err != nil {
		t.Fatal(err)
	}
	env, err := b.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := env.RawEnvelope().DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	if err := schemas.Validate(schemas.StatementGitHubV1, payload); err != nil {
		t.Fatal(err)
	}
}

func TestPointerOfFirstBadField(t *testing.T) {
	gh, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "@provenant-demo/hello", "1.0.0", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	gl, err := provenance.BuildStatement(lookup(npmtest.GitLabEnv()), "hello-provenance", "1.0.0", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	body := `{"_id":"a","name":"a","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"a","version":"1.0.0","_id":"a@1.0.0","dist":{"integrity":"sha512-` + strings.Repeat("A", 86) + `==","shasum":"` + strings.Repeat("0", 40) + `","tarball":"http://r/a/-/a-1.0.0.tgz"}}},"access":null,"_attachments":{"a-1.0.0.tgz":{"content_type":"application/octet-stream","data":"aGkK","length":3}}}`
	if err := schemas.Validate(schemas.NPMPublishBody, []byte(body)); err != nil {
		t.Fatalf("valid body: %v", err)
	}
	edit := func(doc []byte, path string, value any) []byte {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		keys := strings.Split(strings.TrimPrefix(path, "/"), "/")
		var cur any = m
		for _, k := range keys[:len(keys)-1] {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[k]
			case []any:
				cur = c[0]
			}
		}
		last := keys[len(keys)-1]
		obj := cur.(map[string]any)
		if value == nil {
			delete(obj, last)
		} else {
			obj[last] = value
		}
		out, _ := json.Marshal(m)
		return out
	}
	tests := []struct {
		name, schema string
		doc          []byte
		pointer      string
	}{
		{"gh wrong type", schemas.StatementGitHubV1, edit(gh, "/_type", "https://in-toto.io/Statement/v0.1"), "/_type"},
		{"gh two subjects", schemas.StatementGitHubV1, edit(gh, "/subject", []any{1, 2}), "/subject"},
		{"gh short digest", schemas.StatementGitHubV1, edit(gh, "/subject/0/digest/sha512", "abc"), "/subject/0/digest/sha512"},
		{"gh bad purl", schemas.StatementGitHubV1, edit(gh, "/subject/0/name", "pkg:npm/@provenant-demo/hello@1.0.0"), "/subject/0/name"},
		{"gh undefined runner", schemas.StatementGitHubV1, edit(gh, "/predicate/runDetails/builder/id", "https://github.com/actions/runner/undefined x"), "/predicate/runDetails/builder/id"},
		{"gh missing workflow path", schemas.StatementGitHubV1, edit(gh, "/predicate/buildDefinition/externalParameters/workflow/path", nil), "/predicate/buildDefinition/externalParameters/workflow"},
		{"gh non-numeric id", schemas.StatementGitHubV1, edit(gh, "/predicate/buildDefinition/internalParameters/github/repository_id", "abc"), "/predicate/buildDefinition/internalParameters/github/repository_id"},
		{"gh short commit", schemas.StatementGitHubV1, edit(gh, "/predicate/buildDefinition/resolvedDependencies/0/digest/gitCommit", "abc"), "/predicate/buildDefinition/resolvedDependencies/0/digest/gitCommit"},
		{"gh first of two bad fields", schemas.StatementGitHubV1, []byte(strings.Replace(strings.Replace(string(gh), `"predicateType":"https://slsa.dev/provenance/v1"`, `"predicateType":"x"`, 1), `"invocationId":"https`, `"invocationId":"x`, 1)), "/predicateType"},
		{"gl reproducible true", schemas.StatementGitLabV01, edit(gl, "/predicate/metadata/reproducible", true), "/predicate/metadata/reproducible"},
		{"gl undefined job url", schemas.StatementGitLabV01, edit(gl, "/predicate/metadata/buildInvocationId", "undefined"), "/predicate/metadata/buildInvocationId"},
		{"gl numeric parameter", schemas.StatementGitLabV01, edit(gl, "/predicate/invocation/parameters/CI_JOB_ID", 5), "/predicate/invocation/parameters/CI_JOB_ID"},
		{"body bad version key", schemas.NPMPublishBody, []byte(strings.Replace(body, `"versions":{"1.0.0"`, `"versions":{"v1.0.0"`, 1)), "/versions"},
		{"body bad integrity", schemas.NPMPublishBody, []byte(strings.Replace(body, `"integrity":"sha512-`, `"integrity":"md5-`, 1)), "/versions/1.0.0/dist/integrity"},
		{"body zero length", schemas.NPMPublishBody, []byte(strings.Replace(body, `"length":3`, `"length":0`, 1)), "/_attachments/a-1.0.0.tgz/length"},
		{"body third attachment", schemas.NPMPublishBody, []byte(strings.Replace(body, `"_attachments":{`, `"_attachments":{"a-1.0.0.zip":{},`, 1)), "/_attachments"},
		{"body two versions", schemas.NPMPublishBody, []byte(strings.Replace(body, `"versions":{`, `"versions":{"2.0.0":{},`, 1)), "/versions"},
		{"body no shasum", schemas.NPMPublishBody, []byte(strings.Replace(body, `"shasum"`, `"shasun"`, 1)), "/versions/1.0.0/dist"},
		{"body bad access", schemas.NPMPublishBody, []byte(strings.Replace(body, `"access":null`, `"access":"private"`, 1)), "/access"},
		{"body name with space", schemas.NPMPublishBody, []byte(strings.Replace(body, `"_id":"a"`, `"_id":"a b"`, 1)), "/_id"},
		{"body name with leading dot", schemas.NPMPublishBody, []byte(strings.Replace(body, `"_id":"a"`, `"_id":".a"`, 1)), "/_id"},
		{"body missing attachments", schemas.NPMPublishBody, []byte(strings.Replace(body, `"_attachments"`, `"_attachmentz"`, 1)), ""},
		{"not json", schemas.NPMPublishBody, []byte(`{"_id":`), ""},
		{"trailing data", schemas.NPMPublishBody, []byte(body + `{}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schemas.Validate(tt.schema, tt.doc)
			var se *schemas.Error
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want *schemas.Error", err)
			}
			if se.Pointer != tt.pointer || se.Schema != tt.schema || se.Message == "" {
				t.Errorf("got pointer %q (%v), want %q", se.Pointer, err, tt.pointer)
			}
		})
	}
}

func TestUnknownSchema(t *testing.T) {
	if err := schemas.Validate("nope", []byte(`{}`)); !errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("got %v", err)
	}
	if err := schemas.Validate(schemas.StatementGitHubV1+".schema.json", []byte(`{}`)); errors.Is(err, schemas.ErrUnknownSchema) {
		t.Fatalf("the file name form is not accepted: %v", err)
	}
	if _, err := schemas.Raw(schemas.NPMPublishBody); err != nil {
		t.Fatal(err)
	}
	var _ fs.FS // schemas are embedded; nothing is read from disk at run time
}

func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"pkg:npm/a@1.0.0"}]}`))
	f.Add([]byte(`{"a":[1,{"b":"c"}],"d":{"e/f~":null}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, name := range schemas.Names() {
			err := schemas.Validate(name, doc)
			var se *schemas.Error
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("%s: untyped error %v", name, err)
			}
			if se != nil && se.Pointer != "" && !strings.HasPrefix(se.Pointer, "/") {
				t.Fatalf("%s: bad pointer %q", name, se.Pointer)
			}
		}
	})
}
