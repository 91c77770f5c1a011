package publisher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/trust/trusttest"
)

func TestResolveServices(t *testing.T) {
	e := trusttest.Start(t)
	c := &caller{client: http.DefaultClient, timeout: 5 * time.Second, backoff: time.Millisecond}
	for _, tc := range []struct {
		name             string
		o                Options
		env              map[string]string
		fulcio, rekor    string
		source, errMatch string
	}{
		{"options", Options{FulcioURL: "http://ca", RekorURL: "http://log"}, nil, "http://ca", "http://log", "options", ""},
		{"environment", Options{}, map[string]string{EnvFulcioURL: "http://ca-env", EnvRekorURL: "http://log-env"}, "http://ca-env", "http://log-env", "options", ""},
		{"signing config JSON", Options{SigningConfig: e.Services.SigningConfigJSON()}, nil, e.BaseURL, e.BaseURL, "signing config", ""},
		{"signing config URL", Options{SigningConfigURL: e.BaseURL + "/signing_config.json"}, nil, e.BaseURL, e.BaseURL, "signing config", ""},
		{"signing config from env", Options{}, map[string]string{EnvSigningConfig: e.BaseURL + "/signing_config.json"}, e.BaseURL, e.BaseURL, "signing config", ""},
		{"flag overrides config", Options{FulcioURL: "http://ca", SigningConfig: e.Services.SigningConfigJSON()}, nil, "http://ca", e.BaseURL, "signing config", ""},
		{"public good", Options{}, nil, PublicGoodFulcioURL, PublicGoodRekorURL, "public-good Sigstore", ""},
		{"only a CA", Options{FulcioURL: "http://ca"}, nil, "", "", "", "only one of"},
		{"bad config", Options{SigningConfig: []byte(`{"mediaType":1}`)}, nil, "", "", "", "parsing signing config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Getenv = envFunc(tc.env)
			s, err := resolveServices(context.Background(), &o, c)
			if tc.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errMatch) {
					t.Fatalf("err = %v, want %q", err, tc.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimRight(s.fulcioURL, "/") != tc.fulcio || strings.TrimRight(s.rekorURL, "/") != tc.rekor || s.source != tc.source || s.rekorVersion != 1 {
				t.Errorf("got %+v", s)
			}
		})
	}
}

// TestSigningFailures: after the pre-flight passes, a failing token
// service, CA or log stops the publish with ErrSigning, names the step,
// and sends nothing to the registry.
func TestSigningFailures(t *testing.T) {
	e := trusttest.Start(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":500,"message":"broken"}`, http.StatusInternalServerError)
	}))
	defer broken.Close()
	for _, tc := range []struct {
		name   string
		mutate func(o *Options, env map[string]string)
		step   string
		grows  bool
	}{
		{"token service down", func(o *Options, env map[string]string) {
			env["ACTIONS_ID_TOKEN_REQUEST_URL"] = broken.URL + "/token?api-version=2.0"
		}, StepToken, false},
		{"CA down", func(o *Options, env map[string]string) { o.FulcioURL = broken.URL }, StepCertificate, false},
		{"log down", func(o *Options, env map[string]string) { o.RekorURL = broken.URL }, StepLog, false},
		{"wrong trusted root", func(o *Options, env map[string]string) {
			other := trusttest.Start(t)
			o.TrustedRoot = other.Services.TrustedRootJSON()
		}, StepSelfCheck, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newFakeRegistry(t, testToken)
			env := e.JobEnv(t, ghSpec)
			env["NODE_AUTH_TOKEN"] = testToken
			o := baseOptions(e, reg, writePackage(t, "sign-fail", "1.0.0", nil), env)
			o.Retries = -1
			tc.mutate(&o, env)
			before := treeSize(t, e)
			_, err := Publish(context.Background(), o)
			var se *StepError
			if !errors.As(err, &se) || se.Step != tc.step || ExitCode(err) != ExitSigning {
				t.Fatalf("err = %v, want step %s with exit %d", err, tc.step, ExitSigning)
			}
			if grew := treeSize(t, e) != before; grew != tc.grows {
				t.Errorf("log grew: %v, want %v", grew, tc.grows)
			}
			if reg.putCount() != 0 {
				t.Error("a PUT was sent")
			}
		})
	}
}

// TestGitLabTokenGuidance: a GitLab job without id_tokens is told what to add.
func TestGitLabTokenGuidance(t *testing.T) {
	e := trusttest.Start(t)
	env := e.JobEnv(t, glSpec)
	delete(env, "SIGSTORE_ID_TOKEN")
	env["NODE_AUTH_TOKEN"] = testToken
	reg := newFakeRegistry(t, testToken)
	_, err := Publish(context.Background(), baseOptions(e, reg, writePackage(t, "gl-guide", "1.0.0", nil), env))
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), "id_tokens:\n    SIGSTORE_ID_TOKEN:\n      aud: sigstore") {
		t.Fatalf("err = %v", err)
	}
}

// TestIdentityTokenOption signs with a token given by the caller, in a job
// that has no id-token permission.
func TestIdentityTokenOption(t *testing.T) {
	e := trusttest.Start(t)
	env := e.JobEnv(t, ghSpec)
	delete(env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	env["NODE_AUTH_TOKEN"] = testToken
	reg := newFakeRegistry(t, testToken)
	o := baseOptions(e, reg, writePackage(t, "explicit-token", "1.0.0", nil), env)
	o.IdentityToken = e.IDToken(t, ghSpec)
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Provenance.TokenSource != "--identity-token" || !res.Provenance.SelfVerified || reg.putCount() != 1 {
		t.Errorf("provenance %+v, %d PUTs", res.Provenance, reg.putCount())
	}
}
