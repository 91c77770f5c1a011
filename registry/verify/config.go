package verify

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provenant/provenant/registry/verify/commit"
)

// Names of the trusted roots Provenant knows by convention.
const (
	// RootPublicGood is the public-good Sigstore instance (fulcio.sigstore.dev,
	// rekor.sigstore.dev), whose trusted_root.json an operator copies from
	// @sigstore/tuf's seeds.json.
	RootPublicGood = "public-good"
	// RootPrivate is the registry's own embedded trust services.
	RootPrivate = "private"
)

// Config configures a [Verifier]. The registry decodes it from its YAML
// configuration file (strictly: unknown keys are errors there); fields
// tagged yaml:"-" are set by Go code only.
type Config struct {
	// TrustedRoots are the Sigstore instances whose bundles the registry
	// can verify, tried in order. At least one is required.
	TrustedRoots []RootConfig `yaml:"trustedRoots" json:"trustedRoots"`
	// Policy decides what is acceptable, per registry and per package.
	Policy Policy `yaml:"policy" json:"policy"`
	// Commit configures the commit-exists checker that New builds when
	// CommitChecker is nil.
	Commit commit.Config `yaml:"commit" json:"commit"`
	// CommitChecker, when set, replaces the checker built from Commit.
	CommitChecker commit.Checker `yaml:"-" json:"-"`
	// Clock returns the current time, recorded as Result.VerifiedAt; nil
	// means time.Now. Verification itself uses the log's signed times.
	Clock func() time.Time `yaml:"-" json:"-"`
}

// A RootConfig names one trusted root and says where to load it from:
// exactly one of Path, JSON and Material.
type RootConfig struct {
	// Name identifies the root in policies and results, e.g. "public-good"
	// or "private".
	Name string `yaml:"name" json:"name"`
	// Path is a trusted_root.json file
	// (application/vnd.dev.sigstore.trustedroot+json;version=0.1).
	Path string `yaml:"path" json:"path,omitempty"`
	// JSON is the trusted_root.json content, e.g. from the embedded trust
	// services.
	JSON []byte `yaml:"-" json:"-"`
	// Material is already-loaded trusted material.
	Material root.TrustedMaterial `yaml:"-" json:"-"`
	// RequireSCT requires an embedded signed certificate timestamp from one
	// of the root's CT logs. nil means: required when the root lists CT
	// logs (as the public-good root does).
	RequireSCT *bool `yaml:"requireSCT" json:"requireSCT,omitempty"`
}

// Validate checks the configuration without loading anything.
func (c *Config) Validate() error {
	if len(c.TrustedRoots) == 0 {
		return errors.New("verify: at least one trusted root is required")
	}
	names := map[string]bool{}
	for i, r := range c.TrustedRoots {
		if r.Name == "" {
			return fmt.Errorf("verify: trustedRoots[%d]: name is required", i)
		}
		if names[r.Name] {
			return fmt.Errorf("verify: trustedRoots[%d]: duplicate name %q", i, r.Name)
		}
		names[r.Name] = true
		sources := 0
		for _, set := range []bool{r.Path != "", len(r.JSON) > 0, r.Material != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			return fmt.Errorf("verify: trustedRoots[%d] (%s): exactly one of path, JSON or material is required, got %d", i, r.Name, sources)
		}
	}
	if err := c.Policy.validate(names); err != nil {
		return err
	}
	if c.CommitChecker == nil {
		if err := c.Commit.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// load returns the root's trusted material.
func (r RootConfig) load() (root.TrustedMaterial, error) {
	switch {
	case r.Material != nil:
		return r.Material, nil
	case r.Path != "":
		b, err := os.ReadFile(r.Path)
		if err != nil {
			return nil, fmt.Errorf("verify: trusted root %s: %w", r.Name, err)
		}
		r.JSON = b
	}
	tr, err := root.NewTrustedRootFromJSON(r.JSON)
	if err != nil {
		return nil, fmt.Errorf("verify: trusted root %s: %w", r.Name, err)
	}
	return tr, nil
}
