package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
)

func FuzzParseRequestToken(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	i, err := New("http://127.0.0.1:1", key)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := i.RequestToken(spec())
	idTok, _ := i.Mint(spec(), "sigstore")
	f.Add(good)
	f.Add(idTok)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := i.ParseRequestToken(tok)
		if err == nil {
			if _, err := s.Normalize(); err != nil {
				t.Fatalf("accepted a token with an invalid job: %v", err)
			}
		}
	})
}

func FuzzParseJobSpec(f *testing.F) {
	f.Add([]byte(`{"repository":"o/r","sha":"0123456789abcdef0123456789abcdef01234567","ref":"refs/heads/main","workflow":".github/workflows/x.yml"}`))
	f.Add([]byte(`{"platform":"gitlab-ci","repository":"g/s/p","sha":"0123456789abcdef0123456789abcdef01234567","ref":"refs/tags/v1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseJobSpec(body)
		if err != nil {
			return
		}
		// An accepted spec must not smuggle separators into the subject,
		// which would let one repository pose as another.
		sub, want := githubClaims(s)["sub"].(string), 3
		if s.Platform == GitLabCI {
			sub, want = gitlabClaims(s)["sub"].(string), 5
		}
		if n := strings.Count(sub, ":"); n != want {
			t.Fatalf("subject %q has %d separators, want %d", sub, n, want)
		}
	})
}
