package provenance_test

import (
	"encoding/json"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

func FuzzParseStatement(f *testing.F) {
	for _, c := range npmtest.Cases() {
		st, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, []byte(c.Name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(st)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"pkg:npm/a@1.0.0","digest":{"sha512":"00"}}],"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"buildType":"https://github.com/npm/cli/gha/v2","invocation":{"configSource":{"uri":"git+https://github.com/o/r@refs/heads/main"}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := provenance.ParseStatement(b)
		if err != nil {
			return
		}
		if len(s.Subjects) == 0 || len(s.Subjects) > limits.MaxSubjects {
			t.Fatalf("%d subjects accepted", len(s.Subjects))
		}
		if s.CI == "" || s.SourceRepositoryURI == "" || s.SourceCommit == "" || s.BuilderID == "" {
			t.Fatalf("incomplete summary accepted: %+v", s)
		}
	})
}

func FuzzNormalizeRepositoryURL(f *testing.F) {
	for _, tt := range repositoryTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := provenance.NormalizeRepositoryURL(b)
		if err != nil {
			return
		}
		if got == "" {
			t.Fatal("empty URL without an error")
		}
		// Normalising is idempotent: a normalised URL is its own normal form.
		again, err := provenance.NormalizeRepositoryURL(json.RawMessage(mustJSON(t, got)))
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> (%q, %v)", b, got, again, err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
