package registry

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"gopkg.in/yaml.v3"

	"github.com/provenant/provenant/registry/verify"
)

// Defaults for Config fields left zero.
const (
	DefaultAddr            = "127.0.0.1:4873"
	DefaultShutdownTimeout = 15 * time.Second
	DefaultSweepInterval   = time.Hour
	DefaultSweepGrace      = time.Hour
)

// Config configures a registry. It is read from flags, environment and a
// YAML file (see LoadConfig), which schemas/registry-config.schema.json
// describes.
type Config struct {
	// Addr is the listen address.
	Addr string `yaml:"addr" json:"addr,omitempty"`
	// DataDir holds the database, the blobs and the registry signing key.
	DataDir string `yaml:"dataDir" json:"dataDir,omitempty"`
	// PublicURL is the registry's external base URL, used in tarball and
	// attestation links. Empty means: derived from each request's Host.
	PublicURL string `yaml:"publicURL" json:"publicURL,omitempty"`
	// Registration allows anyone to create an account with npm adduser.
	// nil means true.
	Registration *bool `yaml:"registration" json:"registration,omitempty"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout" json:"shutdownTimeout,omitempty"`
	// SweepInterval is how often unreferenced blobs are deleted; negative
	// disables the sweep.
	SweepInterval time.Duration `yaml:"sweepInterval" json:"sweepInterval,omitempty"`
	// SweepGrace is the minimum age of a blob the sweep may delete; it must
	// exceed the longest publish.
	SweepGrace time.Duration `yaml:"sweepGrace" json:"sweepGrace,omitempty"`
	// PostgresDSN, when set, keeps metadata in PostgreSQL instead of the
	// SQLite file in DataDir (blobs stay under DataDir/blobs), e.g.
	// postgres://registry@127.0.0.1:5432/registry?sslmode=disable.
	PostgresDSN string `yaml:"postgresDSN" json:"postgresDSN,omitempty"`
	// LogURL is the base URL of the Rekor-compatible transparency log that
	// the /-/log pages read, e.g. https://rekor.sigstore.dev or the
	// embedded trust services' URL. Empty: the pages say no log is set.
	LogURL string `yaml:"logURL" json:"logURL,omitempty"`
	// RateLimits limits login attempts and package writes; zero fields
	// take the defaults.
	RateLimits RateLimits `yaml:"rateLimits" json:"rateLimits,omitzero"`
	// Verification configures the provenance checks (trusted roots,
	// policy, commit check). With no trusted root at all the registry
	// still starts, accepts only versions without provenance (where the
	// policy allows them) and logs a warning; see newVerifier.
	Verification verify.Config `yaml:"verification" json:"verification"`
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}
	if c.SweepGrace == 0 {
		c.SweepGrace = DefaultSweepGrace
	}
	c.RateLimits.setDefaults()
}

// Validate checks the fields the registry itself uses; the verifier
// checks its own section when it is built.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("registry config: dataDir is required")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("registry config: publicURL %q is not an http(s) URL", c.PublicURL)
		}
	}
	if c.LogURL != "" {
		u, err := url.Parse(c.LogURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("registry config: logURL %q is not an http(s) URL", c.LogURL)
		}
	}
	if err := c.RateLimits.validate(); err != nil {
		return err
	}
	if c.SweepGrace < time.Minute {
		return fmt.Errorf("registry config: sweepGrace %s is shorter than a minute", c.SweepGrace)
	}
	return nil
}

// registration reports whether adduser may create accounts.
func (c *Config) registration() bool { return c.Registration == nil || *c.Registration }

// LoadConfig reads a YAML configuration file strictly: it must validate
// against schemas/registry-config.schema.json (through validate, which may
// be nil), and unknown keys are errors.
func LoadConfig(path string, validate func(yamlDoc []byte) error) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("registry config: %w", err)
	}
	if validate != nil {
		if err := validate(data); err != nil {
			return c, fmt.Errorf("registry config %s: %w", path, err)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("registry config %s: %w", path, err)
	}
	return c, nil
}

// Environment variables read by ApplyEnv.
const (
	EnvAddr           = "PROVENANT_REGISTRY_ADDR"
	EnvDataDir        = "PROVENANT_REGISTRY_DATA_DIR"
	EnvPublicURL      = "PROVENANT_REGISTRY_PUBLIC_URL"
	EnvPostgres       = "PROVENANT_REGISTRY_POSTGRES"
	EnvLogURL         = "PROVENANT_REGISTRY_LOG_URL"
	EnvTrustedRoots   = "PROVENANT_REGISTRY_TRUSTED_ROOTS"    // NAME=PATH[,NAME=PATH…]
	EnvPublicGoodRoot = "PROVENANT_REGISTRY_PUBLIC_GOOD_ROOT" // a trusted_root.json path
	EnvCommitCheck    = "PROVENANT_REGISTRY_COMMIT_CHECK"     // require, warn or off
	EnvAllowIssuers   = "PROVENANT_REGISTRY_ALLOW_ISSUERS"    // URL[,URL…]
)

// ApplyEnv overrides fields from the PROVENANT_REGISTRY_* environment
// variables above, as read by getenv. Trusted roots are added (or replace
// the root of the same name); the commit check sets the default policy's
// mode.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	for env, field := range map[string]*string{
		EnvAddr:      &c.Addr,
		EnvDataDir:   &c.DataDir,
		EnvPublicURL: &c.PublicURL,
		EnvPostgres:  &c.PostgresDSN,
		EnvLogURL:    &c.LogURL,
	} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			*field = v
		}
	}
	if v := strings.TrimSpace(getenv(EnvTrustedRoots)); v != "" {
		for spec := range strings.SplitSeq(v, ",") {
			if err := c.AddTrustedRoot(spec); err != nil {
				return fmt.Errorf("%s: %w", EnvTrustedRoots, err)
			}
		}
	}
	if v := strings.TrimSpace(getenv(EnvPublicGoodRoot)); v != "" {
		c.SetTrustedRoot(verify.RootPublicGood, v)
	}
	if v := strings.TrimSpace(getenv(EnvCommitCheck)); v != "" {
		if err := c.SetCommitCheck(v); err != nil {
			return fmt.Errorf("%s: %w", EnvCommitCheck, err)
		}
	}
	if v := strings.TrimSpace(getenv(EnvAllowIssuers)); v != "" {
		for iss := range strings.SplitSeq(v, ",") {
			if err := c.AllowIssuer(iss); err != nil {
				return fmt.Errorf("%s: %w", EnvAllowIssuers, err)
			}
		}
	}
	return nil
}

// AllowIssuer adds an OIDC issuer URL to the default policy's allowed
// issuers (check "issuer-allowed"), keeping the ones already allowed: when
// the configuration names none, GitHub Actions and GitLab.com
// (verify.DefaultIssuers) stay allowed beside it. An operator uses it to
// accept provenance signed through its own trust services, whose issuer is
// their URL (`provenant trust serve --public-url`).
func (c *Config) AllowIssuer(issuer string) error {
	issuer = strings.TrimSpace(issuer)
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("issuer %q is not an http(s) URL", issuer)
	}
	d := &c.Verification.Policy.Default
	if d.AllowedIssuers == nil {
		d.AllowedIssuers = slices.Clone(verify.DefaultIssuers)
	}
	if !slices.Contains(d.AllowedIssuers, issuer) {
		d.AllowedIssuers = append(d.AllowedIssuers, issuer)
	}
	return nil
}

// AddTrustedRoot adds a trusted root given as NAME=PATH (the form of
// --trusted-root), e.g. "private=/data/trust/trusted_root.json".
func (c *Config) AddTrustedRoot(spec string) error {
	name, path, ok := strings.Cut(strings.TrimSpace(spec), "=")
	name, path = strings.TrimSpace(name), strings.TrimSpace(path)
	if !ok || name == "" || path == "" {
		return fmt.Errorf("trusted root %q is not NAME=PATH (e.g. private=/data/trust/trusted_root.json)", spec)
	}
	c.SetTrustedRoot(name, path)
	return nil
}

// SetTrustedRoot sets the trusted root called name to the trusted_root.json
// at path, replacing a root of that name from the configuration file.
func (c *Config) SetTrustedRoot(name, path string) {
	for i, r := range c.Verification.TrustedRoots {
		if r.Name == name {
			c.Verification.TrustedRoots[i] = verify.RootConfig{Name: name, Path: path, RequireSCT: r.RequireSCT}
			return
		}
	}
	c.Verification.TrustedRoots = append(c.Verification.TrustedRoots, verify.RootConfig{Name: name, Path: path})
}

// SetCommitCheck sets the default policy's commit-exists mode: require,
// warn or off. Per-package rules from the configuration file still apply.
func (c *Config) SetCommitCheck(mode string) error {
	switch m := verify.CommitMode(mode); m {
	case verify.CommitRequire, verify.CommitWarn, verify.CommitOff:
		c.Verification.Policy.Default.CommitCheck = m
		return nil
	}
	return fmt.Errorf("commit check %q is not require, warn or off", mode)
}

// TrustedMaterial loads every configured trusted root into one collection,
// for the log viewer's checkpoint and inclusion checks. It returns nil when
// no root is configured.
func (c *Config) TrustedMaterial() (root.TrustedMaterial, error) {
	var tmc root.TrustedMaterialCollection
	for _, r := range c.Verification.TrustedRoots {
		switch {
		case r.Material != nil:
			tmc = append(tmc, r.Material)
		case r.Path != "" || len(r.JSON) > 0:
			b := r.JSON
			if r.Path != "" {
				var err error
				if b, err = os.ReadFile(r.Path); err != nil {
					return nil, fmt.Errorf("registry: trusted root %s: %w", r.Name, err)
				}
			}
			tr, err := root.NewTrustedRootFromJSON(b)
			if err != nil {
				return nil, fmt.Errorf("registry: trusted root %s: %w", r.Name, err)
			}
			tmc = append(tmc, tr)
		}
	}
	if len(tmc) == 0 {
		return nil, nil
	}
	return tmc, nil
}
