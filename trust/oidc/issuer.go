// Package oidc is a CI OIDC issuer: it mints ID tokens shaped like GitHub
// Actions' (https://token.actions.githubusercontent.com) and GitLab CI's,
// serves OIDC discovery and a JWKS, and answers the token request endpoint
// that GitHub Actions advertises in ACTIONS_ID_TOKEN_REQUEST_URL. With
// [Issuer.JobEnv] a test or a person gets the complete environment of a
// simulated job, so that a publisher's production code path runs unchanged.
//
// # Issuers
//
// One Issuer serves two OIDC issuer URLs that share a signing key:
//
//   - the base URL, whose tokens carry GitHub Actions claims (sub
//     "repo:OWNER/REPO:ref:REF", job_workflow_ref, repository_id, ...);
//   - the base URL + "/gitlab", whose tokens carry GitLab CI claims (sub
//     "project_path:GROUP/PROJECT:ref_type:branch:ref:main",
//     ci_config_ref_uri, project_id, ...).
//
// A CA decides how to render a certificate from the issuer, as Fulcio does,
// so each claim shape has its own issuer URL. Tokens are ES256 JWTs signed
// with go-jose.
//
// # Token request
//
// ACTIONS_ID_TOKEN_REQUEST_TOKEN is itself a JWT signed by the issuer, with
// audience [RequestAudience] and the job's spec in the "job" claim. The
// endpoint GET /oidc/token?api-version=2.0&audience=X verifies it and mints
// an ID token for the job with audience X, answering {"value": "<jwt>"}.
// The issuer keeps no per-job state, so it survives restarts.
//
// The embedded issuer has no real CI behind it: anyone who can reach
// /oidc/job-env can obtain tokens for any repository. Trust it only in
// development and in closed test networks; production deployments trust
// real issuers (see the ca package).
package oidc

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
)

// Token lifetimes.
const (
	// IDTokenLifetime is how long a minted ID token is valid.
	IDTokenLifetime = 10 * time.Minute
	// RequestTokenLifetime is how long ACTIONS_ID_TOKEN_REQUEST_TOKEN (and a
	// GitLab SIGSTORE_ID_TOKEN) stays usable: GitHub's maximum job duration.
	RequestTokenLifetime = 6 * time.Hour
)

// RequestAudience is the audience of ACTIONS_ID_TOKEN_REQUEST_TOKEN, so
// that it can never be mistaken for an ID token by a relying party.
const RequestAudience = "provenant:id-token-request"

// GitLabPath is the path under the base URL of the GitLab-shaped issuer.
const GitLabPath = "/gitlab"

// maxJobSpecBytes caps the JSON body of POST /oidc/job-env.
const maxJobSpecBytes = 16 << 10

// An Issuer mints CI ID tokens. It is safe for concurrent use.
type Issuer struct {
	baseURL string
	key     *ecdsa.PrivateKey
	keyID   string
	signer  jose.Signer
	now     func() time.Time
}

// New returns an issuer whose GitHub-shaped issuer URL is baseURL (no
// trailing slash) and whose tokens are signed with key (ECDSA P-256, ES256).
func New(baseURL string, key *ecdsa.PrivateKey) (*Issuer, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oidc: issuer base URL %q must be an absolute http(s) URL without query", baseURL)
	}
	if key == nil {
		return nil, errors.New("oidc: no signing key")
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	sum := sha256.Sum256(der)
	kid := base64.RawURLEncoding.EncodeToString(sum[:16])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return &Issuer{baseURL: strings.TrimSuffix(baseURL, "/"), key: key, keyID: kid, signer: signer, now: time.Now}, nil
}

// GitHubIssuerURL is the iss of GitHub-shaped tokens: the base URL.
func (i *Issuer) GitHubIssuerURL() string { return i.baseURL }

// GitLabIssuerURL is the iss of GitLab-shaped tokens: base URL + "/gitlab".
func (i *Issuer) GitLabIssuerURL() string { return i.baseURL + GitLabPath }

// IssuerURL returns the issuer URL for a platform.
func (i *Issuer) IssuerURL(p Platform) string {
	if p == GitLabCI {
		return i.GitLabIssuerURL()
	}
	return i.GitHubIssuerURL()
}

// PublicKey returns the token verification key.
func (i *Issuer) PublicKey() *ecdsa.PublicKey { return &i.key.PublicKey }

// JWKS returns the JSON Web Key Set that verifies the issuer's tokens.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: i.keyID, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// Mint returns a signed ID token for the job with the given audience.
func (i *Issuer) Mint(spec JobSpec, audience string) (string, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return "", err
	}
	if audience == "" || len(audience) > 1024 {
		return "", &provenance.CheckError{Check: "token-audience", Expected: "1-1024 characters", Actual: audience}
	}
	var claims map[string]any
	if spec.Platform == GitLabCI {
		claims = gitlabClaims(spec)
	} else {
		claims = githubClaims(spec)
	}
	return i.sign(claims, i.IssuerURL(spec.Platform), audience, IDTokenLifetime)
}

func (i *Issuer) sign(claims map[string]any, iss, aud string, life time.Duration) (string, error) {
	now := i.now()
	var jti [16]byte
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%v", now.UnixNano(), aud, claims["sub"]))
	copy(jti[:], sum[:])
	std := jwt.Claims{
		Issuer:    iss,
		Audience:  jwt.Audience{aud},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-5 * time.Second)),
		Expiry:    jwt.NewNumericDate(now.Add(life)),
		ID:        fmt.Sprintf("%x", jti),
	}
	if s, ok := claims["sub"].(string); ok {
		std.Subject = s
	}
	return jwt.Signed(i.signer).Claims(std).Claims(claims).Serialize()
}

// RequestToken returns the ACTIONS_ID_TOKEN_REQUEST_TOKEN for a job.
func (i *Issuer) RequestToken(spec JobSpec) (string, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	return i.sign(map[string]any{"sub": "job:" + spec.Repository, "job": json.RawMessage(raw)}, i.baseURL, RequestAudience, RequestTokenLifetime)
}

// ParseRequestToken verifies an ACTIONS_ID_TOKEN_REQUEST_TOKEN and returns
// the job it names. Failures are *provenance.CheckError.
func (i *Issuer) ParseRequestToken(token string) (JobSpec, error) {
	var spec JobSpec
	if len(token) > limits.MaxJWTBytes {
		return spec, &provenance.CheckError{Check: "request-token-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxJWTBytes), Actual: fmt.Sprintf("%d bytes", len(token))}
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return spec, &provenance.CheckError{Check: "request-token-format", Err: err}
	}
	var std jwt.Claims
	var extra struct {
		Job json.RawMessage `json:"job"`
	}
	if err := tok.Claims(&i.key.PublicKey, &std, &extra); err != nil {
		return spec, &provenance.CheckError{Check: "request-token-signature", Err: err}
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: i.baseURL, AnyAudience: jwt.Audience{RequestAudience}, Time: i.now()}, 30*time.Second); err != nil {
		return spec, &provenance.CheckError{Check: "request-token-claims", Err: err}
	}
	if err := json.Unmarshal(extra.Job, &spec); err != nil {
		return spec, &provenance.CheckError{Check: "request-token-job", Err: err}
	}
	return spec.Normalize()
}

// TokenRequestURL is ACTIONS_ID_TOKEN_REQUEST_URL. Like GitHub's, it already
// carries a query, so clients append "&audience=X".
func (i *Issuer) TokenRequestURL() string { return i.baseURL + "/oidc/token?api-version=2.0" }

// JobEnv returns the environment of a simulated job: for GitHub Actions all
// GITHUB_* variables, RUNNER_* and ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN; for
// GitLab CI the CI_* variables and a SIGSTORE_ID_TOKEN (audience
// "sigstore") minted up front, as GitLab's id_tokens keyword does.
func (i *Issuer) JobEnv(spec JobSpec) (map[string]string, error) {
	spec, err := spec.Normalize()
	if err != nil {
		return nil, err
	}
	if spec.Platform == GitLabCI {
		return i.gitlabEnv(spec)
	}
	return i.githubEnv(spec)
}

func (i *Issuer) githubEnv(s JobSpec) (map[string]string, error) {
	reqTok, err := i.RequestToken(s)
	if err != nil {
		return nil, err
	}
	c := githubClaims(s)
	owner := s.Owner()
	env := map[string]string{
		"CI":                             "true",
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_ACTION":                  "__run",
		"GITHUB_ACTION_REPOSITORY":       "",
		"GITHUB_ACTOR":                   s.Actor,
		"GITHUB_ACTOR_ID":                c["actor_id"].(string),
		"GITHUB_API_URL":                 "https://api.github.com",
		"GITHUB_BASE_REF":                "",
		"GITHUB_HEAD_REF":                "",
		"GITHUB_EVENT_NAME":              s.EventName,
		"GITHUB_GRAPHQL_URL":             "https://api.github.com/graphql",
		"GITHUB_JOB":                     "publish",
		"GITHUB_REF":                     s.Ref,
		"GITHUB_REF_NAME":                s.RefName(),
		"GITHUB_REF_PROTECTED":           "false",
		"GITHUB_REF_TYPE":                s.RefType(),
		"GITHUB_REPOSITORY":              s.Repository,
		"GITHUB_REPOSITORY_ID":           s.RepositoryID,
		"GITHUB_REPOSITORY_OWNER":        owner,
		"GITHUB_REPOSITORY_OWNER_ID":     s.OwnerID,
		"GITHUB_RETENTION_DAYS":          "90",
		"GITHUB_RUN_ATTEMPT":             s.RunAttempt,
		"GITHUB_RUN_ID":                  s.RunID,
		"GITHUB_RUN_NUMBER":              s.RunNumber,
		"GITHUB_SERVER_URL":              GitHubServerURL,
		"GITHUB_SHA":                     s.SHA,
		"GITHUB_TRIGGERING_ACTOR":        s.Actor,
		"GITHUB_WORKFLOW":                s.WorkflowName,
		"GITHUB_WORKFLOW_REF":            s.WorkflowRef(),
		"GITHUB_WORKFLOW_SHA":            s.SHA,
		"RUNNER_ENVIRONMENT":             s.RunnerEnvironment,
		"RUNNER_ARCH":                    "X64",
		"RUNNER_OS":                      "Linux",
		"RUNNER_NAME":                    runnerName(s.RunnerEnvironment),
		"ACTIONS_ID_TOKEN_REQUEST_URL":   i.TokenRequestURL(),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok,
	}
	return env, nil
}

func runnerName(env string) string {
	if env == "self-hosted" {
		return "self-hosted-runner"
	}
	return "GitHub Actions 2"
}

func (i *Issuer) gitlabEnv(s JobSpec) (map[string]string, error) {
	idTok, err := i.Mint(s, "sigstore")
	if err != nil {
		return nil, err
	}
	c := gitlabClaims(s)
	host := strings.TrimPrefix(GitLabServerURL, "https://")
	projectURL := GitLabServerURL + "/" + s.Repository
	name := s.Repository[strings.LastIndexByte(s.Repository, '/')+1:]
	jobID := c["job_id"].(string)
	env := map[string]string{
		"CI":                        "true",
		"GITLAB_CI":                 "true",
		"CI_SERVER":                 "yes",
		"CI_SERVER_URL":             GitLabServerURL,
		"CI_SERVER_HOST":            host,
		"CI_SERVER_PROTOCOL":        "https",
		"CI_SERVER_PORT":            "443",
		"CI_SERVER_NAME":            "GitLab",
		"CI_API_V4_URL":             GitLabServerURL + "/api/v4",
		"CI_PROJECT_PATH":           s.Repository,
		"CI_PROJECT_NAME":           name,
		"CI_PROJECT_NAMESPACE":      s.Owner(),
		"CI_PROJECT_NAMESPACE_ID":   s.OwnerID,
		"CI_PROJECT_ROOT_NAMESPACE": strings.SplitN(s.Repository, "/", 2)[0],
		"CI_PROJECT_ID":             s.RepositoryID,
		"CI_PROJECT_URL":            projectURL,
		"CI_PROJECT_VISIBILITY":     s.Visibility,
		"CI_COMMIT_SHA":             s.SHA,
		"CI_COMMIT_SHORT_SHA":       s.SHA[:8],
		"CI_COMMIT_REF_NAME":        s.RefName(),
		"CI_COMMIT_REF_PROTECTED":   "false",
		"CI_CONFIG_PATH":            s.Workflow,
		"CI_JOB_ID":                 jobID,
		"CI_JOB_NAME":               "publish",
		"CI_JOB_STAGE":              "deploy",
		"CI_JOB_URL":                projectURL + "/-/jobs/" + jobID,
		"CI_PIPELINE_ID":            s.RunID,
		"CI_PIPELINE_IID":           s.RunNumber,
		"CI_PIPELINE_SOURCE":        s.EventName,
		"CI_PIPELINE_URL":           projectURL + "/-/pipelines/" + s.RunID,
		"CI_RUNNER_ID":              c["runner_id"].(string),
		"CI_RUNNER_DESCRIPTION":     s.RunnerEnvironment + " runner",
		"CI_RUNNER_TAGS":            "[]",
		"CI_RUNNER_EXECUTABLE_ARCH": "linux/amd64",
		"GITLAB_USER_LOGIN":         s.Actor,
		"GITLAB_USER_ID":            c["user_id"].(string),
		"SIGSTORE_ID_TOKEN":         idTok,
	}
	if s.RefType() == "tag" {
		env["CI_COMMIT_TAG"] = s.RefName()
	} else {
		env["CI_COMMIT_BRANCH"] = s.RefName()
	}
	if s.Environment != "" {
		env["CI_ENVIRONMENT_NAME"] = s.Environment
	}
	return env, nil
}

// Handler serves discovery and JWKS for both issuer URLs, the token
// request endpoint and POST /oidc/job-env. Paths are relative to the base URL.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, i.discovery(i.GitHubIssuerURL()))
	})
	mux.HandleFunc("GET "+GitLabPath+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, i.discovery(i.GitLabIssuerURL()))
	})
	jwks := func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, i.JWKS()) }
	mux.HandleFunc("GET /.well-known/jwks", jwks)
	mux.HandleFunc("GET "+GitLabPath+"/.well-known/jwks", jwks)
	mux.HandleFunc("GET /oidc/token", i.serveToken)
	mux.HandleFunc("POST /oidc/job-env", i.serveJobEnv)
	return mux
}

func (i *Issuer) discovery(iss string) map[string]any {
	return map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{string(jose.ES256)},
		"scopes_supported":                      []string{"openid"},
		"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository", "repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "workflow", "workflow_ref", "workflow_sha", "job_workflow_ref", "job_workflow_sha", "event_name", "run_id", "run_number", "run_attempt", "runner_environment", "project_path", "project_id", "namespace_path", "namespace_id", "ci_config_ref_uri", "ci_config_sha", "pipeline_id", "pipeline_source", "job_id"},
	}
}

// serveToken implements the ACTIONS_ID_TOKEN_REQUEST_URL endpoint.
func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		reject(r, w, http.StatusUnauthorized, &provenance.CheckError{Check: "request-token", Expected: "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>", Actual: "none"})
		return
	}
	spec, err := i.ParseRequestToken(tok)
	if err != nil {
		reject(r, w, http.StatusUnauthorized, err)
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		// GitHub's default audience is the URL of the repository owner.
		aud = GitHubServerURL + "/" + spec.Owner()
	}
	idTok, err := i.Mint(spec, aud)
	if err != nil {
		reject(r, w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(idTok), "value": idTok})
}

func (i *Issuer) serveJobEnv(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJobSpecBytes))
	if err != nil {
		reject(r, w, http.StatusRequestEntityTooLarge, &provenance.CheckError{Check: "job-spec-size", Expected: fmt.Sprintf("at most %d bytes", maxJobSpecBytes), Err: err})
		return
	}
	spec, err := ParseJobSpec(body)
	if err != nil {
		reject(r, w, http.StatusBadRequest, err)
		return
	}
	env, err := i.JobEnv(spec)
	if err != nil {
		reject(r, w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"env": env})
}

// ParseJobSpec decodes a JSON job spec strictly (unknown fields are an
// error) and normalizes it.
func ParseJobSpec(body []byte) (JobSpec, error) {
	var spec JobSpec
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, &provenance.CheckError{Check: "job-spec-json", Err: err}
	}
	if dec.More() {
		return spec, &provenance.CheckError{Check: "job-spec-json", Err: errors.New("trailing data after the JSON object")}
	}
	return spec.Normalize()
}

func reject(r *http.Request, w http.ResponseWriter, status int, err error) {
	slog.DebugContext(r.Context(), "rejection: oidc request", slog.String("path", r.URL.Path), slog.Any("error", err))
	writeJSON(w, status, map[string]any{"code": status, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
