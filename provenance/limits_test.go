package provenance_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

func TestParseStatementSizeLimit(t *testing.T) {
	st, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "a", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) []byte { return append(bytes.Clone(st), bytes.Repeat([]byte(" "), n-len(st))...) }
	if _, err := provenance.ParseStatement(pad(limits.MaxStatementBytes)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if _, err := provenance.ParseStatement(pad(limits.MaxStatementBytes + 1)); err == nil {
		t.Error("one byte past the limit: no error")
	}
}

func TestParseStatementSubjectLimit(t *testing.T) {
	st, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "a", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	subject := fmt.Sprintf(`{"name":"pkg:npm/a@1.0.0","digest":{"sha512":"%s"}}`, provenance.TarballSHA512(nil))
	with := func(n int) []byte {
		subjects := "[" + strings.TrimSuffix(strings.Repeat(subject+",", n), ",") + "]"
		i := bytes.Index(st, []byte(`"subject":[`))
		j := bytes.Index(st, []byte(`],"predicateType"`))
		if i < 0 || j < 0 {
			t.Fatalf("unexpected statement layout %s", st)
		}
		return []byte(string(st[:i]) + `"subject":` + subjects + string(st[j+1:]))
	}
	s, err := provenance.ParseStatement(with(limits.MaxSubjects))
	if err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if len(s.Subjects) != limits.MaxSubjects {
		t.Errorf("got %d subjects", len(s.Subjects))
	}
	if _, err := provenance.ParseStatement(with(limits.MaxSubjects + 1)); err == nil {
		t.Error("one past the limit: no error")
	}
}
