package publisher_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/trust/oidc"
)

// benchPackageBytes is the size of the benchmark package's content.
const benchPackageBytes = 100 << 10

// buildProvenant builds the provenant binary once for process benchmarks.
func buildProvenant(b *testing.B) string {
	b.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "provenant")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/provenant")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, msg)
	}
	return bin
}

// writeBenchPackage writes a package of about benchPackageBytes of
// hard-to-compress JavaScript into dir with the given name and version.
func writeBenchPackage(b *testing.B, dir, name, version, repoURL string) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range 4 {
		var sb strings.Builder
		for sb.Len() < benchPackageBytes/4 {
			sb.WriteString("exports.k")
			for range 24 {
				sb.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			sb.WriteString(" = 1\n")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part%d.js", i)), []byte(sb.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	setBenchVersion(b, dir, name, version, repoURL)
}

func setBenchVersion(b *testing.B, dir, name, version, repoURL string) {
	pj, _ := json.Marshal(map[string]any{"name": name, "version": version, "main": "part0.js", "license": "MIT",
		"repository": map[string]string{"type": "git", "url": "git+" + repoURL + ".git"}})
	if err := os.WriteFile(filepath.Join(dir, "package.json"), pj, 0o644); err != nil {
		b.Fatal(err)
	}
}

// benchVersion numbers the published versions across benchmark runs.
var benchVersion int

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkPublishProcess measures, as whole processes against the local
// stack (registry, CA, log), `provenant publish --provenance` of a 100 KB
// package next to a plain `npm publish` of the same content to the same
// registry, alternating within each iteration. It reports the median wall
// time of each and their ratio (provenant-with-provenance / npm-plain).
// Run with e.g. -benchtime=10x.
func BenchmarkPublishProcess(b *testing.B) {
	if _, err := exec.LookPath("npm"); err != nil {
		b.Skip("npm not on PATH")
	}
	bin := buildProvenant(b)
	s := startStack(b)
	dir, sha := s.commitPackage(b, "acme/bench", "https://github.com/acme/bench", "bench-provenant", "0.0.0", nil)
	writeBenchPackage(b, dir, "bench-provenant", "0.0.0", "https://github.com/acme/bench")
	npmDir := b.TempDir()
	writeBenchPackage(b, npmDir, "bench-npm", "0.0.0", "https://github.com/acme/bench")
	u, _ := url.Parse(s.Info.RegistryURL)
	if err := os.WriteFile(filepath.Join(npmDir, ".npmrc"), []byte("//"+u.Host+"/:_authToken=${NODE_AUTH_TOKEN}\n"), 0o600); err != nil {
		b.Fatal(err)
	}

	job := s.jobEnv(b, oidc.JobSpec{Repository: "acme/bench", SHA: sha, Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"})
	home := b.TempDir()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "NODE_AUTH_TOKEN=" + s.token,
		"npm_config_userconfig=" + filepath.Join(home, "none"), "npm_config_cache=" + filepath.Join(home, "cache"),
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false"}
	provEnv := slices.Clone(base)
	for k, v := range job {
		provEnv = append(provEnv, k+"="+v)
	}
	run := func(dir string, env []string, name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, env
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		d := time.Since(t0)
		if err != nil {
			b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return d
	}
	var prov, plain []time.Duration
	b.ResetTimer()
	for range b.N {
		benchVersion++ // the benchmark function may run more than once
		v := fmt.Sprintf("1.0.%d", benchVersion)
		b.StopTimer()
		setBenchVersion(b, dir, "bench-provenant", v, "https://github.com/acme/bench")
		setBenchVersion(b, npmDir, "bench-npm", v, "https://github.com/acme/bench")
		b.StartTimer()
		prov = append(prov, run(dir, provEnv, bin, "publish", ".", "--provenance", "--registry", s.Info.RegistryURL,
			"--signing-config", s.Info.SigningConfig, "--trusted-root", s.Info.TrustedRoot))
		plain = append(plain, run(npmDir, base, "npm", "publish", "--ignore-scripts", "--registry", s.Info.RegistryURL+"/"))
	}
	b.StopTimer()
	mp, mn := median(prov), median(plain)
	b.ReportMetric(float64(mp.Milliseconds()), "provenant-ms")
	b.ReportMetric(float64(mn.Milliseconds()), "npm-ms")
	b.ReportMetric(float64(mp)/float64(mn), "ratio")
}
