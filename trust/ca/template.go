package ca

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/provenance"
)

// Template returns the leaf template for a verified token: the URI SAN and
// the Fulcio extensions, filled as Fulcio's ci-issuer-metadata does for the
// issuer's kind. A claim the template needs but the token lacks is a
// *provenance.CheckError "token-claims" naming it.
func Template(is *Issuer, claims map[string]any) (*x509.Certificate, error) {
	get := func(name string) (string, error) {
		v, ok := claims[name]
		if !ok || v == nil {
			return "", &provenance.CheckError{Check: "token-claims", Expected: "claim " + name, Actual: "missing"}
		}
		switch t := v.(type) {
		case string:
			return t, nil
		case bool:
			return strconv.FormatBool(t), nil
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64), nil
		case json.Number:
			return t.String(), nil
		}
		return "", &provenance.CheckError{Check: "token-claims", Expected: "claim " + name + " as a string", Actual: fmt.Sprintf("%T", v)}
	}
	var e certificate.Extensions
	var san string
	var deploymentEnv string
	var err error
	must := func(name string) string {
		if err != nil {
			return ""
		}
		var v string
		v, err = get(name)
		return v
	}
	optional := func(name string) string {
		v, _ := get(name)
		return v
	}
	e.Issuer = must("iss")
	u := is.ServerURL
	switch is.Kind {
	case GitHubWorkflow:
		e.GithubWorkflowTrigger = must("event_name")
		e.GithubWorkflowSHA = must("sha")
		e.GithubWorkflowName = must("workflow")
		e.GithubWorkflowRepository = must("repository")
		e.GithubWorkflowRef = must("ref")
		e.BuildSignerURI = u + "/" + must("job_workflow_ref")
		e.BuildSignerDigest = must("job_workflow_sha")
		e.RunnerEnvironment = must("runner_environment")
		e.SourceRepositoryURI = u + "/" + must("repository")
		e.SourceRepositoryDigest = must("sha")
		e.SourceRepositoryRef = must("ref")
		e.SourceRepositoryIdentifier = must("repository_id")
		e.SourceRepositoryOwnerURI = u + "/" + must("repository_owner")
		e.SourceRepositoryOwnerIdentifier = must("repository_owner_id")
		e.BuildConfigURI = u + "/" + must("workflow_ref")
		e.BuildConfigDigest = must("workflow_sha")
		e.BuildTrigger = must("event_name")
		e.RunInvocationURI = u + "/" + must("repository") + "/actions/runs/" + must("run_id") + "/attempts/" + must("run_attempt")
		e.SourceRepositoryVisibilityAtSigning = must("repository_visibility")
		deploymentEnv = optional("environment")
		san = u + "/" + must("job_workflow_ref")
	case GitLabPipeline:
		e.BuildSignerURI = "https://" + must("ci_config_ref_uri")
		e.BuildSignerDigest = must("ci_config_sha")
		e.RunnerEnvironment = must("runner_environment")
		e.SourceRepositoryURI = u + "/" + must("project_path")
		e.SourceRepositoryDigest = must("sha")
		refType, ref := must("ref_type"), must("ref")
		if refType == "branch" {
			e.SourceRepositoryRef = "refs/heads/" + ref
		} else {
			e.SourceRepositoryRef = "refs/tags/" + ref
		}
		e.SourceRepositoryIdentifier = must("project_id")
		e.SourceRepositoryOwnerURI = u + "/" + must("namespace_path")
		e.SourceRepositoryOwnerIdentifier = must("namespace_id")
		e.BuildConfigURI = "https://" + must("ci_config_ref_uri")
		e.BuildConfigDigest = must("ci_config_sha")
		e.BuildTrigger = must("pipeline_source")
		e.RunInvocationURI = u + "/" + must("project_path") + "/-/jobs/" + must("job_id")
		e.SourceRepositoryVisibilityAtSigning = must("project_visibility")
		deploymentEnv = optional("environment")
		san = "https://" + must("ci_config_ref_uri")
	default:
		return nil, fmt.Errorf("ca: unknown issuer kind %q", is.Kind)
	}
	if err != nil {
		return nil, err
	}
	sanURL, perr := url.Parse(san)
	if perr != nil || sanURL.Scheme == "" || sanURL.Host == "" {
		return nil, &provenance.CheckError{Check: "token-claims", Expected: "claims forming a URI subject alternative name", Actual: san}
	}
	exts, rerr := RenderExtensions(e, deploymentEnv)
	if rerr != nil {
		return nil, rerr
	}
	return &x509.Certificate{URIs: []*url.URL{sanURL}, ExtraExtensions: exts}, nil
}

// OIDDeploymentEnvironment is 1.3.6.1.4.1.57264.1.23, which sigstore-go
// does not name.
var OIDDeploymentEnvironment = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 23}

// RenderExtensions encodes Fulcio's certificate extensions like Fulcio's
// (Extensions).Render: .1–.6 as raw bytes (deprecated encodings, kept for
// old verifiers), .8 onward as DER UTF8String. Empty values are omitted.
func RenderExtensions(e certificate.Extensions, deploymentEnvironment string) ([]pkix.Extension, error) {
	var exts []pkix.Extension
	raw := func(id asn1.ObjectIdentifier, v string) {
		if v != "" {
			exts = append(exts, pkix.Extension{Id: id, Value: []byte(v)})
		}
	}
	var err error
	utf8 := func(id asn1.ObjectIdentifier, v string) {
		if v == "" || err != nil {
			return
		}
		var der []byte
		der, err = asn1.MarshalWithParams(v, "utf8")
		exts = append(exts, pkix.Extension{Id: id, Value: der})
	}
	// sigstore-go deprecates the legacy OIDs .1–.6 in favour of .8 onward,
	// but Fulcio still writes them for GitHub Actions tokens, so this CA
	// writes them too (the .8+ equivalents follow below).
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDIssuer, e.Issuer)
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDGitHubWorkflowTrigger, e.GithubWorkflowTrigger)
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDGitHubWorkflowSHA, e.GithubWorkflowSHA)
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDGitHubWorkflowName, e.GithubWorkflowName)
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDGitHubWorkflowRepository, e.GithubWorkflowRepository)
	//lint:ignore SA1019 legacy Fulcio OID (1.3.6.1.4.1.57264.1.1–.6): Fulcio still writes it for GitHub Actions and old verifiers read it
	raw(certificate.OIDGitHubWorkflowRef, e.GithubWorkflowRef)
	utf8(certificate.OIDIssuerV2, e.Issuer)
	utf8(certificate.OIDBuildSignerURI, e.BuildSignerURI)
	utf8(certificate.OIDBuildSignerDigest, e.BuildSignerDigest)
	utf8(certificate.OIDRunnerEnvironment, e.RunnerEnvironment)
	utf8(certificate.OIDSourceRepositoryURI, e.SourceRepositoryURI)
	utf8(certificate.OIDSourceRepositoryDigest, e.SourceRepositoryDigest)
	utf8(certificate.OIDSourceRepositoryRef, e.SourceRepositoryRef)
	utf8(certificate.OIDSourceRepositoryIdentifier, e.SourceRepositoryIdentifier)
	utf8(certificate.OIDSourceRepositoryOwnerURI, e.SourceRepositoryOwnerURI)
	utf8(certificate.OIDSourceRepositoryOwnerIdentifier, e.SourceRepositoryOwnerIdentifier)
	utf8(certificate.OIDBuildConfigURI, e.BuildConfigURI)
	utf8(certificate.OIDBuildConfigDigest, e.BuildConfigDigest)
	utf8(certificate.OIDBuildTrigger, e.BuildTrigger)
	utf8(certificate.OIDRunInvocationURI, e.RunInvocationURI)
	utf8(certificate.OIDSourceRepositoryVisibilityAtSigning, e.SourceRepositoryVisibilityAtSigning)
	utf8(OIDDeploymentEnvironment, deploymentEnvironment)
	return exts, err
}
