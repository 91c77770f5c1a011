package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/provenant/provenant/provenance"
)

// Audience is the OIDC audience Sigstore's certificate authorities require.
const Audience = "sigstore"

// Guidance npm prints when a CI job cannot get an identity token, extended
// with the change that fixes it.
const (
	gitHubTokenMissing = `Provenance generation in GitHub Actions requires "write" access to the "id-token" permission`
	gitHubTokenFix     = "Add to the workflow or job:\n  permissions:\n    id-token: write\n    contents: read"
	gitLabTokenMissing = `Provenance generation in GitLab CI requires "SIGSTORE_ID_TOKEN" with "sigstore" audience to be present in "id_tokens". For more info see:` + "\nhttps://docs.gitlab.com/ee/ci/secrets/id_token_authentication.html"
	gitLabTokenFix     = "Add to the job in .gitlab-ci.yml:\n  id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore"
)

// tokenSource reports, before anything is signed, whether an identity
// token will be obtainable, and fetches it later.
type tokenSource struct {
	ci       provenance.CI
	explicit string
	getenv   func(string) (string, bool)
}

// check fails with a *TokenError when the environment cannot provide a token.
func (s tokenSource) check() error {
	if s.explicit != "" {
		return nil
	}
	switch s.ci {
	case provenance.GitHubActions:
		u, _ := s.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")
		t, _ := s.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		if u == "" || t == "" {
			return &TokenError{Reason: gitHubTokenMissing, Fix: gitHubTokenFix}
		}
	case provenance.GitLabCI:
		if t, _ := s.getenv("SIGSTORE_ID_TOKEN"); t == "" {
			return &TokenError{Reason: gitLabTokenMissing, Fix: gitLabTokenFix}
		}
	}
	return nil
}

// fetch returns the identity token: the explicit one, GitLab's
// SIGSTORE_ID_TOKEN, or one requested from GitHub's token service with
// audience "sigstore".
func (s tokenSource) fetch(ctx context.Context, c *caller) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	if s.explicit != "" {
		return s.explicit, nil
	}
	if s.ci == provenance.GitLabCI {
		t, _ := s.getenv("SIGSTORE_ID_TOKEN")
		return t, nil
	}
	raw, _ := s.getenv("ACTIONS_ID_TOKEN_REQUEST_URL")
	bearer, _ := s.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	u, err := url.Parse(raw)
	if err != nil {
		return "", &TokenError{Reason: "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL", Err: err}
	}
	q := u.Query()
	q.Set("audience", Audience)
	u.RawQuery = q.Encode()
	h := http.Header{"Authorization": {"Bearer " + bearer}, "Accept": {"application/json"}}
	resp, err := c.do(ctx, http.MethodGet, u.String(), h, nil, true)
	if err != nil {
		return "", &TokenError{Reason: "requesting the GitHub Actions identity token failed", Err: err}
	}
	if resp.status != http.StatusOK {
		return "", &TokenError{Reason: fmt.Sprintf("the GitHub Actions token service answered %d", resp.status),
			Err: fmt.Errorf("%s", strings.TrimSpace(string(resp.body))), Fix: gitHubTokenFix}
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || body.Value == "" {
		return "", &TokenError{Reason: "the GitHub Actions token service returned no token value", Err: err}
	}
	return body.Value, nil
}
