// Package trust runs Provenant's embedded trust services on one HTTP root:
// a CI OIDC issuer (package oidc), a Fulcio-compatible CA (package ca) and a
// Rekor-compatible transparency log on tessera (package tlog), with the
// Sigstore trusted root and signing config that name them.
//
// All services share the base URL: it is the OIDC issuer URL of the
// GitHub-shaped tokens, the Fulcio URL and the Rekor URL. State lives in a
// data directory; a restart with the same directory keeps the CA, the log
// key and the log. See README.md for the wire APIs and the layout.
package trust

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provenant/provenant/trust/ca"
	"github.com/provenant/provenant/trust/internal/keyfile"
	trustoidc "github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/tlog"
)

// Files and directories inside Config.DataDir.
const (
	TrustedRootFile   = "trusted_root.json"
	SigningConfigFile = "signing_config.json"
	OIDCKeyFile       = "oidc/signing-key.pem"
	CADir             = "ca"
	LogDir            = "log"
)

// Config configures the services.
type Config struct {
	// DataDir holds keys, certificates and the log.
	DataDir string
	// BaseURL is the public URL the services are served at, e.g.
	// http://127.0.0.1:8081. Listen first, then Open with the listener's
	// URL. It may carry a path when Handler is mounted under it, e.g.
	// http://host/trust with http.StripPrefix("/trust", s.Handler()).
	BaseURL string
	// Issuers are extra trusted OIDC issuers besides the embedded one, as
	// ca.ParseIssuer reads them: "github=URL", "gitlab=URL" or a known URL
	// such as https://token.actions.githubusercontent.com.
	Issuers []string
	// Log tunes the log's batching and pushback; zero values take tlog's
	// defaults. Its Dir, Host and PathPrefix are set by Open.
	Log tlog.Config
}

// Services are the running trust services.
type Services struct {
	cfg           Config
	issuer        *trustoidc.Issuer
	ca            *ca.CA
	log           *tlog.Log
	caKeys        *ca.Keys
	trustedRoot   []byte
	signingConfig []byte
	handler       http.Handler
	lock          *os.File
}

// Open creates or reloads the keys, the CA and the log from cfg.DataDir and
// writes trusted_root.json and signing_config.json there.
func Open(ctx context.Context, cfg Config) (*Services, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("trust: no data directory")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("trust: base URL %q must be an absolute http(s) URL without query, fragment or user", cfg.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	cfg.BaseURL = u.Scheme + "://" + u.Host + u.Path
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, cfg, u)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func open(ctx context.Context, cfg Config, u *url.URL) (*Services, error) {
	now := time.Now()
	oidcKey, _, err := keyfile.LoadOrCreateKey(filepath.Join(cfg.DataDir, OIDCKeyFile))
	if err != nil {
		return nil, fmt.Errorf("trust: oidc key: %w", err)
	}
	issuer, err := trustoidc.New(cfg.BaseURL, oidcKey)
	if err != nil {
		return nil, err
	}
	caKeys, err := ca.LoadOrCreateKeys(filepath.Join(cfg.DataDir, CADir), now)
	if err != nil {
		return nil, err
	}
	keySet := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{issuer.PublicKey()}}
	issuers := []ca.Issuer{
		{URL: issuer.GitHubIssuerURL(), Kind: ca.GitHubWorkflow, KeySet: keySet},
		{URL: issuer.GitLabIssuerURL(), Kind: ca.GitLabPipeline, KeySet: keySet},
	}
	for _, s := range cfg.Issuers {
		is, err := ca.ParseIssuer(s)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		issuers = append(issuers, is)
	}
	authority, err := ca.New(ca.Config{Keys: caKeys, Issuers: issuers})
	if err != nil {
		return nil, err
	}
	logCfg := cfg.Log
	logCfg.Dir = filepath.Join(cfg.DataDir, LogDir)
	logCfg.Host = u.Hostname()
	logCfg.PathPrefix = u.Path
	lg, err := tlog.Open(ctx, logCfg)
	if err != nil {
		return nil, err
	}
	s := &Services{cfg: cfg, issuer: issuer, ca: authority, log: lg, caKeys: caKeys}
	if err := s.writeTrustFiles(); err != nil {
		lg.Close()
		return nil, err
	}
	s.handler = s.newHandler()
	return s, nil
}

func (s *Services) writeTrustFiles() error {
	tr, err := s.buildTrustedRoot()
	if err != nil {
		return fmt.Errorf("trust: trusted root: %w", err)
	}
	if s.trustedRoot, err = tr.MarshalJSON(); err != nil {
		return fmt.Errorf("trust: trusted root: %w", err)
	}
	// Round-trip, so that what is published is what sigstore-go loads.
	if _, err := root.NewTrustedRootFromJSON(s.trustedRoot); err != nil {
		return fmt.Errorf("trust: trusted root does not load: %w", err)
	}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{{URL: s.cfg.BaseURL, MajorAPIVersion: 1, ValidityPeriodStart: s.caKeys.Root.NotBefore, Operator: "provenant"}},
		[]root.Service{{URL: s.issuer.GitHubIssuerURL(), MajorAPIVersion: 1, ValidityPeriodStart: s.caKeys.Root.NotBefore, Operator: "provenant"}},
		[]root.Service{{URL: s.cfg.BaseURL, MajorAPIVersion: 1, ValidityPeriodStart: s.log.Created(), Operator: "provenant"}},
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
		nil,
		root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY},
	)
	if err != nil {
		return fmt.Errorf("trust: signing config: %w", err)
	}
	if s.signingConfig, err = sc.MarshalJSON(); err != nil {
		return fmt.Errorf("trust: signing config: %w", err)
	}
	if err := keyfile.WriteFile(filepath.Join(s.cfg.DataDir, TrustedRootFile), s.trustedRoot, 0o644); err != nil {
		return err
	}
	return keyfile.WriteFile(filepath.Join(s.cfg.DataDir, SigningConfigFile), s.signingConfig, 0o644)
}

// buildTrustedRoot names the CA chain and the log key. It lists no CT log:
// the CA has none, and leaves carry no SCT.
func (s *Services) buildTrustedRoot() (*root.TrustedRoot, error) {
	fca := &root.FulcioCertificateAuthority{
		Root:                s.caKeys.Root,
		Intermediates:       []*x509.Certificate{s.caKeys.Intermediate},
		ValidityPeriodStart: s.caKeys.Root.NotBefore,
		URI:                 s.cfg.BaseURL,
	}
	id := s.log.LogID()
	tl := &root.TransparencyLog{
		BaseURL:             s.cfg.BaseURL,
		ID:                  id,
		ValidityPeriodStart: s.log.Created(),
		HashFunc:            cryptoSHA256,
		PublicKey:           s.log.PublicKey(),
		SignatureHashFunc:   cryptoSHA256,
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{fca}, nil, nil,
		map[string]*root.TransparencyLog{hexString(id): tl})
}

// Handler serves every service on one root: OIDC discovery and tokens,
// /api/v2/ (Fulcio), /api/v1/ (Rekor), /tlog/ (tlog-tiles), and
// GET /trusted_root.json and /signing_config.json.
func (s *Services) Handler() http.Handler { return s.handler }

func (s *Services) newHandler() http.Handler {
	mux := http.NewServeMux()
	oidcH, caH, logH := s.issuer.Handler(), s.ca.Handler(), s.log.Handler()
	mux.Handle("/.well-known/", oidcH)
	mux.Handle(trustoidc.GitLabPath+"/", oidcH)
	mux.Handle("/oidc/", oidcH)
	mux.Handle("/api/v2/", caH)
	mux.Handle("/api/v1/", logH)
	mux.Handle("/tlog/", logH)
	mux.HandleFunc("GET /trusted_root.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.trustedRoot)
	})
	mux.HandleFunc("GET /signing_config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.signingConfig)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// TrustedRootJSON returns the Sigstore TrustedRoot (protobuf-specs JSON)
// naming the CA chain and the log key.
func (s *Services) TrustedRootJSON() []byte { return append([]byte(nil), s.trustedRoot...) }

// SigningConfigJSON returns the Sigstore SigningConfig (v0.2) naming the CA,
// OIDC and log URLs.
func (s *Services) SigningConfigJSON() []byte { return append([]byte(nil), s.signingConfig...) }

// JobEnv returns the environment of a simulated CI job (see oidc.Issuer.JobEnv).
func (s *Services) JobEnv(spec trustoidc.JobSpec) (map[string]string, error) {
	return s.issuer.JobEnv(spec)
}

// Issuer returns the embedded OIDC issuer.
func (s *Services) Issuer() *trustoidc.Issuer { return s.issuer }

// CA returns the certificate authority.
func (s *Services) CA() *ca.CA { return s.ca }

// Log returns the transparency log.
func (s *Services) Log() *tlog.Log { return s.log }

// BaseURL returns the URL the services are served at.
func (s *Services) BaseURL() string { return s.cfg.BaseURL }

// Close drains the log and releases its files and the data directory.
func (s *Services) Close() error {
	err := s.log.Close()
	if s.lock != nil {
		err = errors.Join(err, s.lock.Close())
	}
	return err
}
