package hardening

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry"
)

// TestLimitsAtAndPastTheLimit publishes at each size and count limit the
// registry enforces on a publish (accepted) and one past it (rejected with
// the limit named, nothing stored).
func TestLimitsAtAndPastTheLimit(t *testing.T) {
	s := newStack(t, stackOptions{})
	token := addUser(t, s.srv.URL, "alice")
	n := 0
	publishAt := func(t *testing.T, name string, tgz []byte, bundle []byte, wantStatus int, want string) {
		t.Helper()
		n++
		p := newPublish(name, fmt.Sprintf("1.0.%d", n), tgz, bundle)
		before := s.snapshot(t, name)
		r := s.do(t, http.MethodPut, p.path(), token, p.body(t))
		if r.status != wantStatus {
			t.Fatalf("status %d, want %d: %s", r.status, wantStatus, clip(r.body))
		}
		if want != "" && !strings.Contains(r.errorText(), want) {
			t.Errorf("error %q does not name %q", r.errorText(), want)
		}
		if wantStatus != http.StatusCreated {
			if d := before.diff(s.snapshot(t, name)); d != "" {
				t.Errorf("rejected publish changed the store: %s", d)
			}
		}
	}
	// Each case builds the tarball for name@version; version is set by publishAt.
	type limitCase struct {
		name  string
		at    func(t *testing.T, pj string) []byte
		past  func(t *testing.T, pj string) []byte
		wantS string
	}
	cases := []limitCase{
		{"MaxTarEntries",
			func(t *testing.T, pj string) []byte { return manyEntries(t, pj, limits.MaxTarEntries) },
			func(t *testing.T, pj string) []byte { return manyEntries(t, pj, limits.MaxTarEntries+1) },
			fmt.Sprintf("more than %d entries", limits.MaxTarEntries)},
		{"MaxPackageJSONBytes",
			func(t *testing.T, pj string) []byte { return padPackageJSON(t, pj, limits.MaxPackageJSONBytes) },
			func(t *testing.T, pj string) []byte { return padPackageJSON(t, pj, limits.MaxPackageJSONBytes+1) },
			"package.json is"},
		{"MaxUnpackedBytes",
			// package.json counts towards the unpacked size.
			func(t *testing.T, pj string) []byte { return bomb(t, pj, limits.MaxUnpackedBytes-int64(len(pj))) },
			func(t *testing.T, pj string) []byte { return bomb(t, pj, limits.MaxUnpackedBytes-int64(len(pj))+1) },
			"size over"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "limit-" + strings.ToLower(c.name)
			publishAt(t, name, c.at(t, packageJSON(name, fmt.Sprintf("1.0.%d", n+1))), nil, http.StatusCreated, "")
			publishAt(t, name, c.past(t, packageJSON(name, fmt.Sprintf("1.0.%d", n+1))), nil, http.StatusUnprocessableEntity, c.wantS)
		})
	}
	t.Run("MaxPackageNameLength", func(t *testing.T) {
		at := strings.Repeat("n", limits.MaxPackageNameLength)
		publishAt(t, at, goodTarball(t, packageJSON(at, fmt.Sprintf("1.0.%d", n+1))), nil, http.StatusCreated, "")
		past := at + "n"
		publishAt(t, past, goodTarball(t, packageJSON(past, fmt.Sprintf("1.0.%d", n+1))), nil, http.StatusBadRequest, "longer than")
	})
	t.Run("MaxBundleBytes", func(t *testing.T) {
		// At the limit the bundle passes the size check and reaches
		// verification (where this padded JSON fails to parse as a
		// bundle); one byte more is refused by size.
		name := "limit-bundle"
		pad := func(size int) []byte {
			b := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":"`)
			b = append(b, bytes.Repeat([]byte("x"), size-len(b)-2)...)
			return append(b, '"', '}')
		}
		publishAt(t, name, goodTarball(t, packageJSON(name, fmt.Sprintf("1.0.%d", n+1))), pad(limits.MaxBundleBytes), http.StatusUnprocessableEntity, "bundle-parse check failed")
		publishAt(t, name, goodTarball(t, packageJSON(name, fmt.Sprintf("1.0.%d", n+1))), pad(limits.MaxBundleBytes+1), http.StatusRequestEntityTooLarge, "bundle attachment exceeds")
	})
	// The registry's own request limits (registry/users.go maxUserBodyBytes
	// = 16 KiB, registry/api.go maxTagBodyBytes = 1 KiB), probed over HTTP.
	padJSON := func(doc string, size int) []byte { return []byte(doc + strings.Repeat(" ", size-len(doc))) }
	t.Run("maxUserBodyBytes", func(t *testing.T) {
		const limit = 16 << 10
		doc := func(name string) string {
			b, _ := json.Marshal(npmwire.AddUserRequest{Name: name, Password: password})
			return string(b)
		}
		if r := s.do(t, http.MethodPut, "/-/user/org.couchdb.user:at-limit", "", padJSON(doc("at-limit"), limit)); r.status != http.StatusCreated {
			t.Errorf("user body of %d bytes: status %d %s", limit, r.status, clip(r.body))
		}
		r := s.do(t, http.MethodPut, "/-/user/org.couchdb.user:past-limit", "", padJSON(doc("past-limit"), limit+1))
		if r.status != http.StatusRequestEntityTooLarge && r.status != http.StatusBadRequest {
			t.Errorf("user body of %d bytes: status %d, want 413 or 400", limit+1, r.status)
		}
		if r := s.do(t, http.MethodGet, "/-/user/org.couchdb.user:past-limit", "", nil); r.status != http.StatusNotFound {
			t.Errorf("a refused signup created the user: %d", r.status)
		}
	})
	t.Run("maxTagBodyBytes", func(t *testing.T) {
		const limit = 1 << 10
		p := newPublish("limit-tag", "1.0.0", goodTarball(t, packageJSON("limit-tag", "1.0.0")), nil)
		if r := s.do(t, http.MethodPut, p.path(), token, p.body(t)); r.status != http.StatusCreated {
			t.Fatalf("publish: %d %s", r.status, r.body)
		}
		if r := s.do(t, http.MethodPut, "/-/package/limit-tag/dist-tags/beta", token, padJSON(`"1.0.0"`, limit)); r.status != http.StatusCreated {
			t.Errorf("dist-tag body of %d bytes: status %d %s", limit, r.status, clip(r.body))
		}
		if r := s.do(t, http.MethodPut, "/-/package/limit-tag/dist-tags/gamma", token, padJSON(`"1.0.0"`, limit+1)); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("dist-tag body of %d bytes: status %d, want 413", limit+1, r.status)
		}
	})
	t.Run("MaxPublishBodyBytes", func(t *testing.T) {
		// Past the limit: refused from Content-Length before reading.
		n := int64(limits.MaxPublishBodyBytes + 1)
		r := s.doStream(t, request{method: http.MethodPut, path: "/limit-body", token: token, stream: io.LimitReader(zeroReader{}, n), streamSize: n})
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413: %s", r.status, clip(r.body))
		}
	})
}

func padPackageJSON(t *testing.T, pj string, size int) []byte {
	t.Helper()
	head := strings.TrimSuffix(pj, "}") + `,"pad":"`
	body := head + strings.Repeat("x", size-len(head)-2) + `"}`
	if len(body) != size {
		t.Fatalf("padded package.json is %d bytes, want %d", len(body), size)
	}
	return gz(t, makeTar(t, []tarEntry{{name: "package/package.json", body: body}}))
}

// TestRateLimits probes the login and publish rate limits at their burst
// and one past it: the attempt past the burst is answered 429 with a
// Retry-After header and changes nothing, while another user (login) or
// another token (publish) is not limited.
func TestRateLimits(t *testing.T) {
	const publishBurst = 5
	s := newStack(t, stackOptions{rateLimits: registry.RateLimits{PublishBurst: publishBurst, PublishPerMinute: 1, LoginPerMinute: 1}})
	login := func(user, pw string) response {
		body, _ := json.Marshal(npmwire.AddUserRequest{Name: user, Password: pw})
		return s.do(t, http.MethodPut, "/-/user/org.couchdb.user:"+user, "", body)
	}
	// adduser is itself a login attempt for the name.
	token := addUser(t, s.srv.URL, "alice")
	other := addUser(t, s.srv.URL, "bob")
	for i := 1; i < registry.DefaultLoginBurst; i++ {
		if r := login("alice", fmt.Sprintf("wrong password %d", i)); r.status != http.StatusUnauthorized {
			t.Fatalf("login attempt %d of %d: status %d, want 401: %s", i+1, registry.DefaultLoginBurst, r.status, r.body)
		}
	}
	r := login("alice", password)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.errorText(), "login rate limit") {
		t.Errorf("login attempt %d (past the burst), even with the right password: status %d, Retry-After %q, %q; want 429 naming the login rate limit",
			registry.DefaultLoginBurst+1, r.status, r.header.Get("Retry-After"), r.errorText())
	}
	if r := login("bob", password); r.status != http.StatusCreated {
		t.Errorf("another user's login was limited too: %d %s", r.status, r.body)
	}

	publish := func(tok string, i int) response {
		v := fmt.Sprintf("0.0.%d", i)
		p := newPublish("rate-pkg", v, goodTarball(t, packageJSON("rate-pkg", v)), nil)
		p.tag = "r"
		return s.do(t, http.MethodPut, p.path(), tok, p.body(t))
	}
	for i := range publishBurst {
		if r := publish(token, i); r.status != http.StatusCreated {
			t.Fatalf("publish %d of %d: status %d %s", i+1, publishBurst, r.status, r.body)
		}
	}
	before := s.snapshot(t, "rate-pkg")
	r = publish(token, publishBurst)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.errorText(), "publish rate limit") {
		t.Errorf("publish %d (past the burst): status %d, Retry-After %q, %q; want 429 naming the publish rate limit",
			publishBurst+1, r.status, r.header.Get("Retry-After"), r.errorText())
	}
	if d := before.diff(s.snapshot(t, "rate-pkg")); d != "" {
		t.Errorf("a rate-limited publish changed the store: %s", d)
	}
	if r := publish(other, 100); r.status == http.StatusTooManyRequests {
		t.Errorf("another token was limited too")
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestSecretsNeverLogged captures every slog record, at debug level, while
// users sign up, log in, publish, fail to publish, use bad tokens and log
// out, and asserts that no token or password appears in the logs or in any
// error message.
func TestSecretsNeverLogged(t *testing.T) {
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prev)

	s := newStack(t, stackOptions{})
	var answers []string
	do := func(method, path, token string, body []byte) response {
		r := s.do(t, method, path, token, body)
		answers = append(answers, string(r.body))
		return r
	}
	alice := addUser(t, s.srv.URL, "alice")
	bob := addUser(t, s.srv.URL, "bob")
	secrets := []string{alice, bob, password}

	// Log in again (a new token), and fail to log in with a wrong password.
	login, _ := json.Marshal(npmwire.AddUserRequest{Name: "alice", Password: password})
	r := do(http.MethodPut, "/-/user/org.couchdb.user:alice", "", login)
	var out npmwire.AddUserResponse
	json.Unmarshal(r.body, &out)
	secrets = append(secrets, out.Token)
	wrong, _ := json.Marshal(npmwire.AddUserRequest{Name: "alice", Password: "not the password at all"})
	do(http.MethodPut, "/-/user/org.couchdb.user:alice", "", wrong)
	secrets = append(secrets, "not the password at all")
	// Basic auth with the password, and a token sent with a bad scheme.
	basic := base64.StdEncoding.EncodeToString([]byte("alice:" + password))
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/-/whoami", nil)
	req.Header.Set("Authorization", "Basic "+basic)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodGet, s.srv.URL+"/-/whoami", nil)
	req.Header.Set("Authorization", alice)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// Publish with provenance, fail a publish, use a revoked-looking token.
	tgz := goodTarball(t, packageJSON("octo-pkg", "1.0.0"))
	p := newPublish("octo-pkg", "1.0.0", tgz, s.provenanceBundle(t, s.job(), "octo-pkg", "1.0.0", tgz))
	if r := do(http.MethodPut, p.path(), alice, p.body(t)); r.status != http.StatusCreated {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	do(http.MethodPut, p.path(), alice, p.body(t)) // already published
	do(http.MethodPut, p.path(), bob, p.body(t))   // not a maintainer
	forged := "npm_prov_" + strings.Repeat("Z", 32)
	secrets = append(secrets, forged)
	do(http.MethodPut, p.path(), forged, p.body(t))
	do(http.MethodGet, "/-/whoami", alice, nil)
	do(http.MethodGet, "/-/npm/v1/tokens", alice, nil)
	// npm logout sends the token in the path; a logout of a token that is
	// not the caller's fails.
	do(http.MethodDelete, "/-/user/token/"+bob, alice, nil)
	do(http.MethodDelete, "/-/user/token/"+alice, alice, nil)

	// The trust services: a forged ACTIONS_ID_TOKEN_REQUEST_TOKEN, and a
	// real ID token with the wrong audience offered to the CA.
	trustAnswers := s.trustSecretProbes(t, forged)
	idTok, err := s.trust.Services.Issuer().Mint(s.job(), "not-sigstore")
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, idTok)
	idAnswers := s.trustSecretProbes(t, idTok)
	if !strings.Contains(idAnswers[len(idAnswers)-1], "token-audience") {
		t.Errorf("the CA probe did not reach token verification: %s", idAnswers[len(idAnswers)-1])
	}
	trustAnswers = append(trustAnswers, idAnswers...)
	answers = append(answers, trustAnswers...)

	logText := logs.String()
	if !strings.Contains(logText, "published") {
		t.Fatalf("the log capture saw no publish; captured:\n%s", logText)
	}
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("empty secret")
		}
		for _, line := range strings.Split(logText, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("secret %.12s… appears in the log: %s", secret, line)
			}
		}
		for _, a := range answers {
			if strings.Contains(a, secret) && !strings.Contains(a, `"token"`) {
				t.Errorf("secret %.12s… appears in an answer: %s", secret, clip([]byte(a)))
			}
		}
	}
}

// trustSecretProbes presents secret as a request token to the OIDC issuer
// and as an identity token to the CA, returning the answers.
func (s *stack) trustSecretProbes(t *testing.T, secret string) []string {
	t.Helper()
	var out []string
	req, _ := http.NewRequest(http.MethodGet, s.trust.BaseURL+"/oidc/token?audience=sigstore", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, string(b))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	body, _ := json.Marshal(map[string]any{
		"credentials": map[string]string{"oidcIdentityToken": secret},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]string{"algorithm": "ECDSA", "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
			"proofOfPossession": base64.StdEncoding.EncodeToString([]byte("not a signature")),
		},
	})
	resp, err := http.Post(s.trust.BaseURL+"/api/v2/signingCert", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Errorf("CA accepted a bad request: %d %s", resp.StatusCode, b)
	}
	return append(out, string(b))
}
