package commit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for Config fields left at zero.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultCacheTTL         = 24 * time.Hour
	DefaultNegativeCacheTTL = time.Minute
	DefaultCacheSize        = 10000
)

// Config configures the commit checker the registry builds with [New]. It
// is decoded from the registry's YAML configuration.
type Config struct {
	// Timeout bounds one check; 0 means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// CacheTTL is how long a found commit is remembered; 0 means
	// DefaultCacheTTL, negative disables caching.
	CacheTTL time.Duration `yaml:"cacheTTL" json:"cacheTTL,omitempty"`
	// NegativeCacheTTL is how long a missing commit is remembered; 0 means
	// DefaultNegativeCacheTTL, negative disables it.
	NegativeCacheTTL time.Duration `yaml:"negativeCacheTTL" json:"negativeCacheTTL,omitempty"`
	// CacheSize bounds the number of remembered answers; 0 means
	// DefaultCacheSize.
	CacheSize int `yaml:"cacheSize" json:"cacheSize,omitempty"`
	// MaxPackBytes caps a packfile read by the git checker; 0 means
	// DefaultMaxPackBytes.
	MaxPackBytes int64 `yaml:"maxPackBytes" json:"maxPackBytes,omitempty"`
	// Rewrites maps repository URLs to the URLs fetched with git, e.g.
	// {prefix: "https://github.com/", replacement: "http://127.0.0.1:8081/"}.
	// A repository matched by a rewrite is always checked with git.
	Rewrites Rewrites `yaml:"rewrites" json:"rewrites,omitempty"`
	// GitHubAPI, when enabled, checks repositories on its Hosts with the
	// GitHub REST API instead of git.
	GitHubAPI GitHubAPIConfig `yaml:"githubAPI" json:"githubAPI"`
}

// GitHubAPIConfig configures the [GitHubAPI] checker.
type GitHubAPIConfig struct {
	// Enabled turns the API checker on.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// BaseURL is the API root; empty means DefaultGitHubAPIURL.
	BaseURL string `yaml:"baseURL" json:"baseURL,omitempty"`
	// Token is an optional API token. Prefer TokenEnv in files.
	Token string `yaml:"token" json:"-"`
	// TokenEnv names an environment variable holding the token.
	TokenEnv string `yaml:"tokenEnv" json:"tokenEnv,omitempty"`
	// Hosts are the repository hosts the API serves; empty means github.com.
	Hosts []string `yaml:"hosts" json:"hosts,omitempty"`
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Timeout < 0 {
		return errors.New("commit: timeout must not be negative")
	}
	if c.CacheSize < 0 || c.MaxPackBytes < 0 {
		return errors.New("commit: cacheSize and maxPackBytes must not be negative")
	}
	if err := c.Rewrites.Validate(); err != nil {
		return err
	}
	if c.GitHubAPI.BaseURL != "" {
		u, err := url.Parse(c.GitHubAPI.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("commit: githubAPI.baseURL %q is not an http(s) URL", c.GitHubAPI.BaseURL)
		}
	}
	return nil
}

// New builds the registry's checker from cfg: rewritten repositories and
// repositories on other hosts go to a [Git] checker, repositories on the
// GitHub API hosts to a [GitHubAPI] checker when it is enabled; every check
// is bounded by the timeout, and answers are cached. client makes the HTTP
// requests (nil means http.DefaultClient); getenv reads TokenEnv (nil means
// no environment).
func New(cfg Config, client *http.Client, getenv func(string) string) (Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	git := &Git{Client: client, Rewrites: cfg.Rewrites, MaxPackBytes: cfg.MaxPackBytes}
	var checker Checker = git
	if cfg.GitHubAPI.Enabled {
		token := cfg.GitHubAPI.Token
		if token == "" && cfg.GitHubAPI.TokenEnv != "" && getenv != nil {
			token = getenv(cfg.GitHubAPI.TokenEnv)
		}
		api := &GitHubAPI{BaseURL: cfg.GitHubAPI.BaseURL, Token: token, Client: client}
		hosts := cfg.GitHubAPI.Hosts
		if len(hosts) == 0 {
			hosts = []string{"github.com"}
		}
		checker = CheckerFunc(func(ctx context.Context, repoURL, sha string) error {
			if _, rewritten := cfg.Rewrites.Apply(repoURL); !rewritten {
				if u, err := url.Parse(repoURL); err == nil && containsFold(hosts, u.Host) {
					return api.Check(ctx, repoURL, sha)
				}
			}
			return git.Check(ctx, repoURL, sha)
		})
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	checker = WithTimeout(checker, timeout)
	ttl, negTTL, size := cfg.CacheTTL, cfg.NegativeCacheTTL, cfg.CacheSize
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	if negTTL == 0 {
		negTTL = DefaultNegativeCacheTTL
	}
	if size == 0 {
		size = DefaultCacheSize
	}
	return Cached(checker, size, ttl, negTTL, nil), nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
