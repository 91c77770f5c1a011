package registry

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

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
	// Verification configures the provenance checks (trusted roots,
	// policy, commit check).
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

// ApplyEnv overrides fields from PROVENANT_REGISTRY_* environment
// variables (ADDR, DATA_DIR, PUBLIC_URL, POSTGRES), as read by getenv.
func (c *Config) ApplyEnv(getenv func(string) string) {
	for env, field := range map[string]*string{
		"PROVENANT_REGISTRY_ADDR":       &c.Addr,
		"PROVENANT_REGISTRY_DATA_DIR":   &c.DataDir,
		"PROVENANT_REGISTRY_PUBLIC_URL": &c.PublicURL,
		"PROVENANT_REGISTRY_POSTGRES":   &c.PostgresDSN,
	} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			*field = v
		}
	}
}
