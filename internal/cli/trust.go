package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/provenant/provenant/trust"
	"github.com/provenant/provenant/trust/oidc"
)

func init() { subcommands = append(subcommands, newTrustCommand) }

func newTrustCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "embedded trust services: CI OIDC issuer, Fulcio-compatible CA, Rekor-compatible log",
	}
	cmd.AddCommand(newTrustServeCommand(), newTrustJobEnvCommand())
	return cmd
}

func newTrustServeCommand() *cobra.Command {
	var dataDir, addr, publicURL string
	var issuers []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve the OIDC issuer, CA and log on one HTTP root",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serveTrust(ctx, cmd.OutOrStdout(), dataDir, addr, publicURL, issuers)
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory for keys, certificates and the log (required)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "listen address")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "URL clients reach the services at (default http://ADDR)")
	cmd.Flags().StringArrayVar(&issuers, "issuer", nil, "extra trusted OIDC issuer: github=URL, gitlab=URL or a known URL (repeatable)")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}

func serveTrust(ctx context.Context, out io.Writer, dataDir, addr, publicURL string, issuers []string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	s, err := trust.Open(ctx, trust.Config{DataDir: dataDir, BaseURL: publicURL, Issuers: issuers})
	if err != nil {
		return err
	}
	defer s.Close()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "trust services at %s (OIDC issuer, Fulcio, Rekor); trusted root %s/trusted_root.json\n", s.BaseURL(), s.BaseURL())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.InfoContext(ctx, "trust: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newTrustJobEnvCommand() *cobra.Command {
	var spec oidc.JobSpec
	var gitlab bool
	var trustURL string
	cmd := &cobra.Command{
		Use:   "job-env",
		Short: "print the environment of a simulated CI job as export lines (eval it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gitlab {
				spec.Platform = oidc.GitLabCI
			}
			env, err := fetchJobEnv(cmd.Context(), trustURL, spec)
			if err != nil {
				return err
			}
			return writeExports(cmd.OutOrStdout(), env)
		},
	}
	f := cmd.Flags()
	f.StringVar(&spec.Repository, "repository", "", "owner/repo (GitLab: group/project) (required)")
	f.StringVar(&spec.SHA, "sha", "", "commit SHA, 40 hex digits (required)")
	f.StringVar(&spec.Ref, "ref", "", "full git ref, e.g. refs/heads/main or refs/tags/v1.0.0 (required)")
	f.StringVar(&spec.Workflow, "workflow", "", "workflow file, e.g. .github/workflows/release.yml (GitLab default .gitlab-ci.yml)")
	f.StringVar(&spec.RunnerEnvironment, "runner", "", "runner environment: github-hosted, gitlab-hosted or self-hosted")
	f.StringVar(&spec.EventName, "event", "", "triggering event (default push)")
	f.StringVar(&spec.Visibility, "visibility", "", "repository visibility (default public)")
	f.StringVar(&spec.Environment, "environment", "", "deployment environment (optional)")
	f.StringVar(&spec.RunID, "run-id", "", "run id (default derived from repository, sha and ref)")
	f.BoolVar(&gitlab, "gitlab", false, "simulate GitLab CI instead of GitHub Actions")
	f.StringVar(&trustURL, "trust-url", "", "base URL of `provenant trust serve` (required)")
	for _, n := range []string{"repository", "sha", "ref", "trust-url"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func fetchJobEnv(ctx context.Context, trustURL string, spec oidc.JobSpec) (map[string]string, error) {
	body, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(trustURL, "/")+"/oidc/job-env", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("job-env: %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	var out struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("job-env: %w", err)
	}
	return out.Env, nil
}

// writeExports prints sorted "export K='V'" lines, single-quoted for sh.
func writeExports(w io.Writer, env map[string]string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "export %s=%s\n", k, shellQuote(env[k])); err != nil {
			return err
		}
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
