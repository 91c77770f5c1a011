package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/provenant/provenant/provenance"

	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/schemas"
)

// ConfigSchema is the name of the registry configuration's JSON Schema.
const ConfigSchema = "registry-config"

// newVerifier builds the production verifier from cfg.Verification.
//
// With no trusted root the registry cannot verify any bundle. It still
// starts, as a first run from a fresh checkout expects, and logs a warning:
// versions without provenance are accepted where the policy allows them,
// and a version with provenance is refused with check "trusted-root". A
// policy that requires provenance by default would refuse everything, so
// that configuration is an error naming the flags that add a root.
func newVerifier(ctx context.Context, cfg Config) (Verifier, error) {
	if len(cfg.Verification.TrustedRoots) == 0 {
		return newNoRootVerifier(ctx, cfg.Verification.Policy)
	}
	v, err := verify.New(cfg.Verification)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return v, nil
}

// validatePublishBody checks a publish body against the npm-publish-body
// JSON Schema; the error names the first bad field.
func validatePublishBody(body []byte) error {
	return schemas.Validate(schemas.NPMPublishBody, body)
}

// ValidateConfigYAML checks a YAML configuration document against
// schemas/registry-config.schema.json; pass it to LoadConfig.
func ValidateConfigYAML(doc []byte) error {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return err
	}
	if v == nil {
		v = map[string]any{}
	}
	j, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("configuration is not JSON-compatible: %w", err)
	}
	return schemas.Validate(ConfigSchema, j)
}

// errNoTrustedRoot explains how to add a trusted root.
const errNoTrustedRoot = "no trusted root is configured: add one with --trusted-root NAME=PATH, --public-good-root PATH, " + EnvTrustedRoots + " or verification.trustedRoots"

// noRootVerifier is the verifier of a registry without trusted roots: it
// applies the policy's provenance-required rule and refuses every bundle.
type noRootVerifier struct{ policy verify.Policy }

func newNoRootVerifier(ctx context.Context, p verify.Policy) (Verifier, error) {
	if def := p.Default.ProvenanceRequired; def != nil && *def {
		return nil, fmt.Errorf("registry: the default policy requires provenance but %s", errNoTrustedRoot)
	}
	for i, pr := range p.Packages {
		if len(pr.TrustedRoots) > 0 {
			return nil, fmt.Errorf("registry: policy packages[%d] (%q) names trusted roots but %s", i, pr.Match, errNoTrustedRoot)
		}
	}
	if len(p.Default.TrustedRoots) > 0 {
		return nil, fmt.Errorf("registry: the default policy names trusted roots but %s", errNoTrustedRoot)
	}
	slog.WarnContext(ctx, "registry: "+errNoTrustedRoot+"; only versions without provenance will be accepted")
	return &noRootVerifier{policy: p}, nil
}

func (v *noRootVerifier) Verify(_ context.Context, in verify.Input) (*verify.Result, error) {
	res := &verify.Result{VerifiedAt: time.Now().UTC(), Checks: []verify.CheckRecord{}}
	if len(in.Bundle) > 0 {
		res.Checks = append(res.Checks, verify.CheckRecord{Name: "trusted-root", Status: verify.StatusFailed, Detail: errNoTrustedRoot})
		return res, &provenance.CheckError{Check: "trusted-root", Expected: "a configured trusted root", Actual: "none (" + errNoTrustedRoot + ")"}
	}
	if v.policy.For(in.Name).ProvenanceRequired {
		res.Checks = append(res.Checks, verify.CheckRecord{Name: "provenance-required", Status: verify.StatusFailed, Detail: "no provenance bundle"})
		return res, &provenance.CheckError{Check: "provenance-required", Expected: "a provenance bundle", Actual: "none"}
	}
	res.Checks = append(res.Checks, verify.CheckRecord{Name: "provenance-required", Status: verify.StatusOff, Detail: "published without provenance; policy does not require it"})
	return res, nil
}
