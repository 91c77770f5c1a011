package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/schemas"
)

// ConfigSchema is the name of the registry configuration's JSON Schema.
const ConfigSchema = "registry-config"

// newVerifier builds the production verifier from cfg.Verification.
func newVerifier(_ context.Context, cfg Config) (Verifier, error) {
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
