package commit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultGitHubAPIURL is the base URL of GitHub's REST API.
const DefaultGitHubAPIURL = "https://api.github.com"

// GitHubAPI checks commits of github.com repositories with GitHub's REST
// API: GET {BaseURL}/repos/{owner}/{repo}/commits/{sha}, which answers 200
// for a commit of the repository (or of its fork network), 404 for an
// unknown repository and 422 for an unknown commit.
type GitHubAPI struct {
	// BaseURL is the API root; empty means DefaultGitHubAPIURL.
	BaseURL string
	// Token, when set, is sent as a bearer token (raises the rate limit and
	// reaches private repositories the token can read).
	Token string
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
}

var _ Checker = (*GitHubAPI)(nil)

// Check implements Checker. repoURL must be https://github.com/{owner}/{repo}
// (a trailing ".git" is tolerated).
func (g *GitHubAPI) Check(ctx context.Context, repoURL, sha string) error {
	u, err := validate(repoURL, sha)
	if err != nil {
		return err
	}
	parts := strings.Split(strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return notFound(repoURL, sha, fmt.Errorf("%q is not a GitHub owner/repo URL", repoURL))
	}
	base := g.BaseURL
	if base == "" {
		base = DefaultGitHubAPIURL
	}
	endpoint := strings.TrimSuffix(base, "/") + "/repos/" + url.PathEscape(parts[0]) + "/" + url.PathEscape(parts[1]) + "/commits/" + sha
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return unavailable(repoURL, sha, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return unavailable(repoURL, sha, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound, http.StatusUnprocessableEntity:
		return notFound(repoURL, sha, fmt.Errorf("GitHub API answered %s", resp.Status))
	default:
		return unavailable(repoURL, sha, errors.New("GitHub API answered "+resp.Status))
	}
}
