package publisher

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
)

// Public-good Sigstore, used when nothing else names a CA and a log.
const (
	PublicGoodFulcioURL = "https://fulcio.sigstore.dev"
	PublicGoodRekorURL  = "https://rekor.sigstore.dev"
	publicGoodSearchURL = "https://search.sigstore.dev/?logIndex="
)

// Environment variables that configure signing when no option does.
const (
	// EnvFulcioURL names the Fulcio-compatible certificate authority.
	EnvFulcioURL = "PROVENANT_FULCIO_URL"
	// EnvRekorURL names the Rekor-compatible transparency log (v1 API).
	EnvRekorURL = "PROVENANT_REKOR_URL"
	// EnvSigningConfig is a path or http(s) URL of a Sigstore signing
	// config JSON (as the embedded trust services publish one).
	EnvSigningConfig = "PROVENANT_SIGNING_CONFIG"
	// EnvTrustedRoot is a path or http(s) URL of a trusted_root.json used
	// to verify the bundle before it is published.
	EnvTrustedRoot = "PROVENANT_TRUSTED_ROOT"
)

// services are the CA and log a publish signs against.
type services struct {
	fulcioURL    string
	rekorURL     string
	rekorVersion uint32
	tsaURLs      []string
	source       string // where the URLs came from, for the report
}

// resolveServices picks the CA and log: explicit options, then
// environment variables, then a signing config, then public-good.
func resolveServices(ctx context.Context, o *Options, c *caller) (services, error) {
	s := services{fulcioURL: o.FulcioURL, rekorURL: o.RekorURL, rekorVersion: 1, source: "options"}
	if s.fulcioURL == "" {
		s.fulcioURL, _ = o.Getenv(EnvFulcioURL)
	}
	if s.rekorURL == "" {
		s.rekorURL, _ = o.Getenv(EnvRekorURL)
	}
	if s.fulcioURL != "" && s.rekorURL != "" {
		return s, nil
	}
	cfgJSON := o.SigningConfig
	ref := o.SigningConfigURL
	if ref == "" {
		ref, _ = o.Getenv(EnvSigningConfig)
	}
	if cfgJSON == nil && ref != "" {
		b, err := readRef(ctx, c, ref, limits.MaxBundleBytes)
		if err != nil {
			return s, fmt.Errorf("reading signing config: %w", err)
		}
		cfgJSON = b
	}
	if cfgJSON != nil {
		sc, err := root.NewSigningConfigFromJSON(cfgJSON)
		if err != nil {
			return s, fmt.Errorf("parsing signing config: %w", err)
		}
		now := time.Now()
		if s.fulcioURL == "" {
			svc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
			if err != nil {
				return s, fmt.Errorf("signing config: no usable certificate authority: %w", err)
			}
			s.fulcioURL = svc.URL
		}
		if s.rekorURL == "" {
			// Prefer a Rekor v1 log (a dsse entry, as npm writes); fall back to v2.
			svcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{1}, now)
			if err != nil || len(svcs) == 0 {
				svcs, err = root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), sign.RekorAPIVersions, now)
			}
			if err != nil || len(svcs) == 0 {
				return s, fmt.Errorf("signing config: no usable transparency log: %v", err)
			}
			s.rekorURL, s.rekorVersion = svcs[0].URL, svcs[0].MajorAPIVersion
			if s.rekorVersion == 2 {
				tsas, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
				if err != nil {
					return s, fmt.Errorf("signing config: a Rekor v2 log needs a timestamp authority: %w", err)
				}
				for _, t := range tsas {
					s.tsaURLs = append(s.tsaURLs, t.URL)
				}
			}
		}
		s.source = "signing config"
		return s, nil
	}
	if s.fulcioURL == "" && s.rekorURL == "" {
		return services{fulcioURL: PublicGoodFulcioURL, rekorURL: PublicGoodRekorURL, rekorVersion: 1, source: "public-good Sigstore"}, nil
	}
	return s, fmt.Errorf("both a certificate authority and a transparency log are needed; only one of --fulcio-url and --rekor-url (or %s / %s) is set", EnvFulcioURL, EnvRekorURL)
}

// readRef reads a local path or an http(s) URL, up to max bytes.
func readRef(ctx context.Context, c *caller, ref string, max int) ([]byte, error) {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		resp, err := c.do(ctx, http.MethodGet, ref, nil, nil, true)
		if err != nil {
			return nil, err
		}
		if resp.status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", ref, resp.status)
		}
		if len(resp.body) > max {
			return nil, fmt.Errorf("GET %s: over %d bytes", ref, max)
		}
		return resp.body, nil
	}
	b, err := os.ReadFile(ref)
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, fmt.Errorf("%s: over %d bytes", ref, max)
	}
	return b, nil
}

// loadTrustedRoot returns the trusted material for self-verification, or
// nil when none is configured.
func loadTrustedRoot(ctx context.Context, o *Options, c *caller) (root.TrustedMaterial, error) {
	data := o.TrustedRoot
	if data == nil {
		ref := o.TrustedRootURL
		if ref == "" {
			ref, _ = o.Getenv(EnvTrustedRoot)
		}
		if ref == "" {
			return nil, nil
		}
		b, err := readRef(ctx, c, ref, limits.MaxBundleBytes)
		if err != nil {
			return nil, fmt.Errorf("reading trusted root: %w", err)
		}
		data = b
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing trusted root: %w", err)
	}
	return tr, nil
}

// A certRecorder wraps the CA to tell, when sign.Bundle fails, whether the
// certificate was the step that failed.
type certRecorder struct {
	sign.CertificateProvider
	err error
}

// GetCertificate implements sign.CertificateProvider.
func (r *certRecorder) GetCertificate(ctx context.Context, kp sign.Keypair, o *sign.CertificateProviderOptions) ([]byte, error) {
	b, err := r.CertificateProvider.GetCertificate(ctx, kp, o)
	r.err = err
	return b, err
}

// A logRecorder wraps the log likewise.
type logRecorder struct {
	sign.Transparency
	err    error
	called bool
}

// GetTransparencyLogEntry implements sign.Transparency.
func (r *logRecorder) GetTransparencyLogEntry(ctx context.Context, pem []byte, b *protobundle.Bundle) error {
	r.called = true
	r.err = r.Transparency.GetTransparencyLogEntry(ctx, pem, b)
	return r.err
}

// signed is the outcome of signing: the bundle and what the report shows.
type signed struct {
	bundleJSON []byte
	mediaType  string
	info       ProvenanceInfo
	certStep   error // non-nil when the CA failed
	logStep    error // non-nil when the log failed
	selfCheck  error // non-nil when verification of the own bundle failed
}

// signStatement signs the statement as a DSSE envelope with an ephemeral
// key, a certificate from the CA and an entry in the log.
func signStatement(ctx context.Context, o *Options, svc services, idToken string, statement []byte, tm root.TrustedMaterial) (*signed, error) {
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	var transport http.RoundTripper
	if o.HTTPClient != nil {
		transport = o.HTTPClient.Transport
	}
	cert := &certRecorder{CertificateProvider: sign.NewFulcio(&sign.FulcioOptions{
		BaseURL: svc.fulcioURL, Timeout: o.Timeout, Retries: uint(o.Retries), Transport: transport})}
	tlog := &logRecorder{Transparency: sign.NewRekor(&sign.RekorOptions{
		BaseURL: svc.rekorURL, Timeout: o.Timeout, Retries: uint(o.Retries), Version: svc.rekorVersion})}
	opts := sign.BundleOptions{
		CertificateProvider:        cert,
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: idToken},
		TransparencyLogs:           []sign.Transparency{tlog},
		Context:                    ctx,
	}
	for _, u := range svc.tsaURLs {
		opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: u, Timeout: o.Timeout, Retries: uint(o.Retries)}))
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: provenance.PayloadType}, kp, opts)
	out := &signed{}
	switch {
	case err == nil:
	case cert.err != nil:
		out.certStep = err
		return out, nil
	case tlog.called && tlog.err != nil:
		out.logStep = err
		return out, nil
	default:
		return nil, err
	}
	out.bundleJSON, err = protojson.Marshal(pb)
	if err != nil {
		return nil, err
	}
	out.mediaType = pb.GetMediaType()
	out.info, err = describeBundle(pb, svc)
	if err != nil {
		return nil, err
	}
	if tm != nil {
		out.selfCheck = verifyBundle(out.bundleJSON, tm)
		out.info.SelfVerified = out.selfCheck == nil
	}
	return out, nil
}

// describeBundle extracts the certificate identity and log entry.
func describeBundle(pb *protobundle.Bundle, svc services) (ProvenanceInfo, error) {
	info := ProvenanceInfo{BundleMediaType: pb.GetMediaType(), FulcioURL: svc.fulcioURL, RekorURL: svc.rekorURL}
	vm := pb.GetVerificationMaterial()
	der := vm.GetCertificate().GetRawBytes()
	if der == nil && len(vm.GetX509CertificateChain().GetCertificates()) > 0 {
		der = vm.GetX509CertificateChain().GetCertificates()[0].GetRawBytes()
	}
	if der != nil {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return info, fmt.Errorf("parsing signing certificate: %w", err)
		}
		info.CertificateSAN = certSAN(c)
		if ext, err := certificate.ParseExtensions(c.Extensions); err == nil {
			info.CertificateIssuer = ext.Issuer
		}
		info.CertificateNotAfter = c.NotAfter.UTC().Format(time.RFC3339)
	}
	if es := vm.GetTlogEntries(); len(es) > 0 {
		e := es[0]
		info.LogIndex = e.GetLogIndex()
		info.LogID = hex.EncodeToString(e.GetLogId().GetKeyId())
		info.IntegratedTime = e.GetIntegratedTime()
		leaf := sha256.Sum256(append([]byte{0}, e.GetCanonicalizedBody()...))
		info.EntryUUID = hex.EncodeToString(leaf[:])
		info.EntryKind = e.GetKindVersion().GetKind() + " " + e.GetKindVersion().GetVersion()
		info.EntryURL = entryURL(svc.rekorURL, info.LogIndex)
	}
	return info, nil
}

// entryURL links to the log entry: search.sigstore.dev for public-good
// Rekor (as npm prints), the log's own v1 API otherwise.
func entryURL(rekorURL string, index int64) string {
	if strings.TrimRight(rekorURL, "/") == PublicGoodRekorURL {
		return publicGoodSearchURL + strconv.FormatInt(index, 10)
	}
	return strings.TrimRight(rekorURL, "/") + "/api/v1/log/entries?logIndex=" + strconv.FormatInt(index, 10)
}

func certSAN(c *x509.Certificate) string {
	for _, u := range c.URIs {
		return u.String()
	}
	for _, e := range c.EmailAddresses {
		return e
	}
	return ""
}

// verifyBundle verifies a bundle against trusted material: certificate
// chain, DSSE signature, log entry and its integrated time. Identity and
// subject are checked separately.
func verifyBundle(bundleJSON []byte, tm root.TrustedMaterial) error {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return err
	}
	v, err := verify.NewVerifier(tm, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
	if err != nil {
		return err
	}
	_, err = v.Verify(&b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithoutIdentitiesUnsafe()))
	return err
}

// statementFromBundle returns the DSSE payload of a bundle, checking the
// shape npm checks for --provenance-file (npm-protocol.md §1.2).
func statementFromBundle(bundleJSON []byte) ([]byte, string, error) {
	var b protobundle.Bundle
	if err := protojson.Unmarshal(bundleJSON, &b); err != nil {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md) for --provenance-file; users and scripts match on it
		return nil, "", fmt.Errorf("Invalid provenance provided: %v", err)
	}
	env := b.GetDsseEnvelope()
	if env == nil || len(env.GetPayload()) == 0 {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md) for --provenance-file; users and scripts match on it
		return nil, "", fmt.Errorf("No dsseEnvelope with payload found in sigstore bundle")
	}
	if !json.Valid(env.GetPayload()) {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md) for --provenance-file; users and scripts match on it
		return nil, "", fmt.Errorf("Failed to parse payload from dsseEnvelope")
	}
	return env.GetPayload(), b.GetMediaType(), nil
}

// describeAttached describes an existing bundle's certificate and log
// entry; the entry URL is known only for public-good Rekor.
func describeAttached(bundleJSON []byte) ProvenanceInfo {
	var pb protobundle.Bundle
	if protojson.Unmarshal(bundleJSON, &pb) != nil {
		return ProvenanceInfo{}
	}
	info, _ := describeBundle(&pb, services{})
	info.EntryURL = ""
	if info.LogID == publicGoodRekorLogID {
		info.EntryURL = entryURL(PublicGoodRekorURL, info.LogIndex)
	}
	return info
}

// publicGoodRekorLogID is the hex log ID of rekor.sigstore.dev.
const publicGoodRekorLogID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
