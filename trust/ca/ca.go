// Package ca is a Fulcio-compatible certificate authority (Fulcio API v2).
//
// It serves:
//
//	POST /api/v2/signingCert   an OIDC token + a public key → a 10-minute leaf
//	GET  /api/v2/trustBundle   the chain: intermediate, root
//	GET  /api/v2/configuration the trusted OIDC issuers
//
// A token is verified with coreos/go-oidc against the configured issuers:
// signature (JWKS), issuer, audience "sigstore", expiry and not-before. The
// proof of possession is a signature by the requested key over the token's
// sub claim, as Fulcio requires for CI issuers. The leaf carries the URI SAN
// and the Fulcio extensions 1.3.6.1.4.1.57264.1.1–.6 and .8–.23, filled
// from the claims exactly as Fulcio's ci-issuer-metadata templates fill them
// for GitHub Actions ("github-workflow") and GitLab CI ("gitlab-pipeline").
//
// There is no certificate transparency log: leaves carry no SCT, the
// signingCert answer uses signedCertificateDetachedSct without an SCT, as
// Fulcio does when it runs without a CT log, and the trusted root lists no
// CT log. Verifiers must not require SCTs for this CA.
package ca

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/trust/internal/keyfile"
)

// LeafValidity is the lifetime of an issued certificate, as public-good Fulcio.
const LeafValidity = 10 * time.Minute

// ClientID is the audience a token must carry.
const ClientID = "sigstore"

// A Kind selects how a token's claims become certificate contents.
type Kind string

const (
	// GitHubWorkflow is Fulcio's "github-workflow" ci-provider.
	GitHubWorkflow Kind = "github-workflow"
	// GitLabPipeline is Fulcio's "gitlab-pipeline" ci-provider.
	GitLabPipeline Kind = "gitlab-pipeline"
)

// An Issuer is one trusted OIDC issuer.
type Issuer struct {
	// URL is the issuer URL, equal to the tokens' iss claim.
	URL string
	// Kind selects the certificate template.
	Kind Kind
	// ServerURL is the template's "url" value: https://github.com or
	// https://gitlab.com by default.
	ServerURL string
	// KeySet verifies the issuer's tokens without discovery, for an issuer
	// served by the same process. Nil means OIDC discovery over HTTP at
	// URL/.well-known/openid-configuration, on first use.
	KeySet oidc.KeySet
}

// ParseIssuer parses an issuer flag value: "KIND=URL" with KIND "github" or
// "gitlab", or a bare URL whose kind is known (token.actions.githubusercontent.com
// and its enterprise paths are GitHub; gitlab.com and hosts named gitlab.* are GitLab).
func ParseIssuer(s string) (Issuer, error) {
	kind, u, ok := strings.Cut(s, "=")
	if !ok {
		u = s
		kind = ""
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" && pu.Scheme != "http" || pu.Host == "" {
		return Issuer{}, fmt.Errorf("issuer %q: not an absolute http(s) URL", s)
	}
	switch kind {
	case "github":
		return Issuer{URL: u, Kind: GitHubWorkflow}, nil
	case "gitlab":
		return Issuer{URL: u, Kind: GitLabPipeline}, nil
	case "":
		switch {
		case pu.Host == "token.actions.githubusercontent.com":
			return Issuer{URL: u, Kind: GitHubWorkflow}, nil
		case pu.Host == "gitlab.com" || strings.HasPrefix(pu.Host, "gitlab."):
			return Issuer{URL: u, Kind: GitLabPipeline, ServerURL: "https://" + pu.Host}, nil
		}
		return Issuer{}, fmt.Errorf("issuer %q: unknown CI kind; write github=URL or gitlab=URL", s)
	}
	return Issuer{}, fmt.Errorf("issuer %q: kind %q is not github or gitlab", s, kind)
}

// Config configures a CA.
type Config struct {
	// Keys are the root, intermediate and the intermediate's key.
	Keys *Keys
	// Issuers are the trusted OIDC issuers.
	Issuers []Issuer
	// HTTPClient fetches discovery documents and JWKS of remote issuers.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A CA issues short-lived code-signing certificates. It is safe for
// concurrent use.
type CA struct {
	keys    *Keys
	issuers map[string]*issuerState
	order   []string
	client  *http.Client
	now     func() time.Time
}

type issuerState struct {
	Issuer
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

// New returns a CA.
func New(cfg Config) (*CA, error) {
	if cfg.Keys == nil || cfg.Keys.Root == nil || cfg.Keys.Intermediate == nil || cfg.Keys.IntermediateKey == nil {
		return nil, errors.New("ca: incomplete keys")
	}
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("ca: no trusted issuers")
	}
	c := &CA{keys: cfg.Keys, issuers: map[string]*issuerState{}, client: cfg.HTTPClient, now: cfg.Now}
	if c.client == nil {
		c.client = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, is := range cfg.Issuers {
		if is.Kind != GitHubWorkflow && is.Kind != GitLabPipeline {
			return nil, fmt.Errorf("ca: issuer %s: unknown kind %q", is.URL, is.Kind)
		}
		if is.ServerURL == "" {
			is.ServerURL = map[Kind]string{GitHubWorkflow: "https://github.com", GitLabPipeline: "https://gitlab.com"}[is.Kind]
		}
		if _, dup := c.issuers[is.URL]; dup {
			return nil, fmt.Errorf("ca: issuer %s configured twice", is.URL)
		}
		st := &issuerState{Issuer: is}
		if is.KeySet != nil {
			st.verifier = oidc.NewVerifier(is.URL, is.KeySet, c.verifierConfig())
		}
		c.issuers[is.URL] = st
		c.order = append(c.order, is.URL)
	}
	return c, nil
}

func (c *CA) verifierConfig() *oidc.Config {
	return &oidc.Config{
		ClientID:             ClientID,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512, oidc.PS256, oidc.EdDSA},
		Now:                  c.now,
	}
}

// Chain returns the CA chain, intermediate first, root last.
func (c *CA) Chain() []*x509.Certificate {
	return []*x509.Certificate{c.keys.Intermediate, c.keys.Root}
}

// verifier returns the go-oidc verifier for an issuer, discovering it on
// first use.
func (c *CA) verifier(ctx context.Context, st *issuerState) (*oidc.IDTokenVerifier, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.verifier != nil {
		return st.verifier, nil
	}
	// The provider's remote key set must outlive this request's context.
	p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), c.client), st.URL)
	if err != nil {
		return nil, fmt.Errorf("discovery for %s: %w", st.URL, err)
	}
	st.verifier = p.Verifier(c.verifierConfig())
	return st.verifier, nil
}

// UnverifiedIssuer returns the iss claim of a JWT without checking its
// signature, to select the issuer that must then verify it.
func UnverifiedIssuer(token string) (string, error) {
	if len(token) > limits.MaxJWTBytes {
		return "", &provenance.CheckError{Check: "identity-token-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxJWTBytes), Actual: fmt.Sprintf("%d bytes", len(token))}
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.EdDSA})
	if err != nil {
		return "", &provenance.CheckError{Check: "identity-token-format", Err: err}
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", &provenance.CheckError{Check: "identity-token-format", Err: err}
	}
	if claims.Issuer == "" {
		return "", &provenance.CheckError{Check: "token-issuer", Expected: "an iss claim", Actual: "none"}
	}
	return claims.Issuer, nil
}

// A tokenError is a failed token check; it answers 401.
type tokenError struct{ *provenance.CheckError }

// Unwrap returns the failed check.
func (e tokenError) Unwrap() error { return e.CheckError }

// VerifyToken checks token against the trusted issuers and returns its
// issuer and claims.
func (c *CA) VerifyToken(ctx context.Context, token string) (*Issuer, map[string]any, error) {
	iss, err := UnverifiedIssuer(token)
	if err != nil {
		var ce *provenance.CheckError
		if !errors.As(err, &ce) {
			ce = &provenance.CheckError{Check: "identity-token-format", Err: err}
		}
		return nil, nil, tokenError{ce}
	}
	st, ok := c.issuers[iss]
	if !ok {
		return nil, nil, tokenError{&provenance.CheckError{Check: "token-issuer", Expected: strings.Join(c.order, " or "), Actual: iss}}
	}
	v, err := c.verifier(ctx, st)
	if err != nil {
		return nil, nil, fmt.Errorf("ca: %w", err)
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		return nil, nil, tokenError{classifyTokenError(err)}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, tokenError{&provenance.CheckError{Check: "token-claims", Err: err}}
	}
	return &st.Issuer, claims, nil
}

func classifyTokenError(err error) *provenance.CheckError {
	var exp *oidc.TokenExpiredError
	if errors.As(err, &exp) {
		return &provenance.CheckError{Check: "token-expiry", Err: err}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "audience"):
		return &provenance.CheckError{Check: "token-audience", Expected: ClientID, Err: err}
	case strings.Contains(msg, "signature"), strings.Contains(msg, "signing"):
		return &provenance.CheckError{Check: "token-signature", Err: err}
	case strings.Contains(msg, "nbf"), strings.Contains(msg, "future"):
		return &provenance.CheckError{Check: "token-not-before", Err: err}
	case strings.Contains(msg, "issuer"):
		return &provenance.CheckError{Check: "token-issuer", Err: err}
	}
	return &provenance.CheckError{Check: "token-verification", Err: err}
}

// IssueCertificate verifies the request and returns the chain: leaf,
// intermediate, root.
func (c *CA) IssueCertificate(ctx context.Context, req *SigningCertRequest) ([]*x509.Certificate, error) {
	is, claims, err := c.VerifyToken(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, tokenError{&provenance.CheckError{Check: "token-subject", Expected: "a sub claim", Actual: "none"}}
	}
	if req.CSR == nil {
		v, err := signature.LoadDefaultVerifier(req.PublicKey)
		if err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "public-key", Err: fmt.Errorf("The public key supplied in the request could not be parsed: %w", err)}
		}
		if err := v.VerifySignature(strings.NewReader(string(req.ProofOfPossession)), strings.NewReader(sub)); err != nil {
			//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
			return nil, &provenance.CheckError{Check: "proof-of-possession", Expected: "a signature over the token subject " + sub, Err: fmt.Errorf("The signature supplied in the request could not be verified: %w", err)}
		}
	}
	tmpl, err := Template(is, claims)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC().Truncate(time.Second)
	tmpl.SerialNumber = randomSerial()
	tmpl.NotBefore = now
	tmpl.NotAfter = now.Add(LeafValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.keys.Intermediate, req.PublicKey, c.keys.IntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("ca: sign leaf: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse leaf: %w", err)
	}
	return []*x509.Certificate{leaf, c.keys.Intermediate, c.keys.Root}, nil
}

// Handler serves the Fulcio v2 API under /api/v2/.
func (c *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", c.serveSigningCert)
	mux.HandleFunc("GET /api/v2/trustBundle", c.serveTrustBundle)
	mux.HandleFunc("GET /api/v2/configuration", c.serveConfiguration)
	return mux
}

func (c *CA) serveSigningCert(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, limits.MaxSigningCertRequestBytes+1))
	if err != nil {
		reject(w, r, http.StatusBadRequest, &provenance.CheckError{Check: "request-body", Err: err})
		return
	}
	if len(body) > limits.MaxSigningCertRequestBytes {
		reject(w, r, http.StatusRequestEntityTooLarge, &provenance.CheckError{Check: "request-size", Expected: fmt.Sprintf("at most %d bytes", limits.MaxSigningCertRequestBytes), Actual: "more"})
		return
	}
	req, err := ParseSigningCertRequest(body, r.Header.Get("Authorization"))
	if err != nil {
		reject(w, r, http.StatusBadRequest, err)
		return
	}
	chain, err := c.IssueCertificate(r.Context(), req)
	var te tokenError
	var ce *provenance.CheckError
	switch {
	case errors.As(err, &te):
		//lint:ignore ST1005 Fulcio's exact wording (sigstore/fulcio pkg/server/error.go, sigstore-wire.md), which Fulcio clients show and match on
		reject(w, r, http.StatusUnauthorized, fmt.Errorf("There was an error processing the identity token: %w", err))
		return
	case errors.As(err, &ce):
		reject(w, r, http.StatusBadRequest, err)
		return
	case err != nil:
		slog.ErrorContext(r.Context(), "ca: issue certificate", slog.Any("error", err))
		writeJSON(w, http.StatusInternalServerError, map[string]any{"code": http.StatusInternalServerError, "message": "error communicating with CA backend"})
		return
	}
	slog.DebugContext(r.Context(), "ca: issued certificate", slog.String("san", chain[0].URIs[0].String()), slog.String("serial", chain[0].SerialNumber.Text(16)))
	writeJSON(w, http.StatusOK, map[string]any{
		"signedCertificateDetachedSct": map[string]any{"chain": map[string]any{"certificates": pemChain(chain)}},
	})
}

func (c *CA) serveTrustBundle(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"chains": []any{map[string]any{"certificates": pemChain(c.Chain())}}})
}

func (c *CA) serveConfiguration(w http.ResponseWriter, r *http.Request) {
	issuers := make([]any, 0, len(c.order))
	for _, u := range c.order {
		issuers = append(issuers, map[string]any{"issuerUrl": u, "audience": ClientID, "challengeClaim": "sub"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": issuers})
}

func pemChain(chain []*x509.Certificate) []string {
	out := make([]string, len(chain))
	for i, c := range chain {
		out[i] = string(keyfile.CertificatePEM(c))
	}
	return out
}

func reject(w http.ResponseWriter, r *http.Request, status int, err error) {
	slog.DebugContext(r.Context(), "rejection: signingCert", slog.Int("status", status), slog.Any("error", err))
	writeJSON(w, status, map[string]any{"code": status, "message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
