package hardening

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/publisher"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/trust/oidc"
)

// Crash test parameters: at least 20 kills in well under two minutes.
const (
	crashKills      = 22
	crashPublishers = 3
	crashMinUptime  = 300 * time.Millisecond
	crashMaxUptime  = 1200 * time.Millisecond
)

// buildProvenant builds the provenant binary into dir.
func buildProvenant(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "provenant")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/provenant/provenant/cmd/provenant")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// devProcess is `provenant dev` (registry, trust services and forge in
// one process) on fixed ports, so that its URLs survive restarts.
type devProcess struct {
	bin, dir                string
	regAddr, trustAddr, fwd string
	cmd                     *exec.Cmd
	log                     *os.File
}

func (d *devProcess) start(t *testing.T) {
	t.Helper()
	d.cmd = exec.Command(d.bin, "dev", "--data-dir", d.dir, "--registry-addr", d.regAddr, "--trust-addr", d.trustAddr, "--forge-addr", d.fwd)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	// Its own process group, so that SIGKILL also reaches git children.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range []string{"http://" + d.regAddr + "/healthz", "http://" + d.trustAddr + "/healthz"} {
		for {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				d.kill()
				out, _ := os.ReadFile(d.log.Name())
				if len(out) > 4000 {
					out = out[len(out)-4000:]
				}
				t.Fatalf("provenant dev did not become healthy at %s; its log ends:\n%s", u, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// kill sends SIGKILL and reaps the process.
func (d *devProcess) kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	d.cmd.Wait()
	d.cmd = nil
}

// acked is a publish the registry answered 201.
type acked struct {
	version string
	tarball []byte
}

// TestCrashSafety runs `provenant dev` as a subprocess, publishes with
// provenance from several goroutines through the publisher library (a
// simulated GitHub Actions job: OIDC token, certificate, log entry, PUT),
// and SIGKILLs the process at random moments. After each kill, with the
// process down, it checks the data directory: every acknowledged publish
// is present and byte-identical, no version lacks a blob, and orphan blobs
// are counted and then swept. After each restart the log's new checkpoint
// must be signed by the log key and consistent with every earlier one. At
// the end every acknowledged version is fetched and its provenance bundle
// verified with sigstore-go.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	if err := gitforge.Available(); err != nil {
		t.Skip("git is not installed")
	}
	tmp := t.TempDir()
	d := &devProcess{bin: buildProvenant(t, tmp), dir: filepath.Join(tmp, "data"),
		regAddr: freePort(t), trustAddr: freePort(t), fwd: freePort(t)}
	var err error
	if d.log, err = os.Create(filepath.Join(tmp, "dev.log")); err != nil {
		t.Fatal(err)
	}
	defer d.log.Close()
	commit, err := gitforge.CreateRepo(filepath.Join(d.dir, "forge"), repoName, map[string]string{"README.md": "octo-pkg\n"})
	if err != nil {
		t.Fatal(err)
	}
	d.start(t)
	defer d.kill()
	regURL, trustURL := "http://"+d.regAddr, "http://"+d.trustAddr
	token := addUser(t, regURL, "alice")
	logKey := logPublicKey(t, trustURL)
	spec := oidc.JobSpec{Repository: repoName, SHA: commit.SHA, Ref: "refs/heads/main", Workflow: workflowFile}

	var (
		mu          sync.Mutex
		acks        []acked
		attempts    atomic.Int64
		lastErr     atomic.Value
		next        atomic.Int64
		stopPublish = make(chan struct{})
		wg          sync.WaitGroup
	)
	for w := range crashPublishers {
		wg.Go(func() {
			dir := filepath.Join(tmp, fmt.Sprintf("w%d", w))
			os.MkdirAll(dir, 0o755)
			for {
				select {
				case <-stopPublish:
					return
				default:
				}
				v := fmt.Sprintf("1.0.%d", next.Add(1))
				attempts.Add(1)
				tgz, err := crashPublish(regURL, trustURL, token, dir, spec, v)
				if err != nil {
					lastErr.Store(err.Error())
					time.Sleep(30 * time.Millisecond)
					continue
				}
				mu.Lock()
				acks = append(acks, acked{v, tgz})
				mu.Unlock()
			}
		})
	}

	var checkpoints []checkpoint
	checkpoints = append(checkpoints, readCheckpoint(t, trustURL, logKey))
	var orphansSwept, leftovers int
	tmpSeen := map[string]bool{}
	var checkTime, restartTime time.Duration
	for k := range crashKills {
		time.Sleep(crashMinUptime + rand.N(crashMaxUptime-crashMinUptime))
		// The last checkpoint served before the kill.
		if cp, err := tryCheckpoint(trustURL, logKey); err == nil {
			checkpoints = append(checkpoints, cp)
		}
		d.kill()
		mu.Lock()
		snapshot := append([]acked(nil), acks...)
		mu.Unlock()
		t0 := time.Now()
		o, l := checkDataDir(t, filepath.Join(d.dir, "registry"), snapshot)
		orphansSwept += o
		for _, k := range l {
			tmpSeen[k] = true
		}
		leftovers = len(tmpSeen)
		t1 := time.Now()
		d.start(t)
		checkTime += t1.Sub(t0)
		restartTime += time.Since(t1)
		cp := readCheckpoint(t, trustURL, logKey)
		for _, old := range checkpoints {
			checkConsistent(t, trustURL, old, cp)
		}
		checkpoints = append(checkpoints, cp)
		if t.Failed() {
			t.Fatalf("after kill %d", k+1)
		}
	}
	close(stopPublish)
	wg.Wait()

	// Every acknowledged version, served by the restarted registry, is
	// byte-identical and its provenance verifies.
	tr, err := root.NewTrustedRootFromPath(filepath.Join(d.dir, "trust", "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acks {
		checkServed(t, regURL, trustURL, v, a)
	}
	if len(acks) < crashKills {
		t.Errorf("only %d publishes were acknowledged in %d attempts; last error: %v", len(acks), attempts.Load(), lastErr.Load())
	}
	t.Logf("time offline checking the data dir %s, restarting %s", checkTime, restartTime)
	t.Logf("crash safety: %d SIGKILLs survived, %d publish attempts, %d acknowledged and intact, %d orphan blobs swept, %d distinct temp files left by killed writes swept, log grew to %d entries, %d checkpoints pairwise consistent",
		crashKills, attempts.Load(), len(acks), orphansSwept, leftovers, checkpoints[len(checkpoints)-1].size, len(checkpoints))
	fmt.Printf("hardening crash: %d kills, %d publishes acknowledged and intact of %d attempts, %d orphans swept\n", crashKills, len(acks), attempts.Load(), orphansSwept)
}

// crashPublish publishes name@version as a GitHub Actions job with
// provenance through the publisher library, returning the tarball on a
// 201 answer.
func crashPublish(regURL, trustURL, token, dir string, spec oidc.JobSpec, version string) ([]byte, error) {
	env, err := jobEnv(trustURL, spec)
	if err != nil {
		return nil, err
	}
	tgz, err := tarballBytes(packageJSON("octo-pkg", version))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "octo-pkg-"+version+".tgz")
	if err := os.WriteFile(path, tgz, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(path)
	res, err := publisher.Publish(context.Background(), publisher.Options{
		Path: path, Registry: regURL + "/", Token: token, Provenance: true, Tag: crashTag(version),
		FulcioURL: trustURL, RekorURL: trustURL,
		Getenv:  func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Timeout: 5 * time.Second, Retries: -1,
	})
	if err != nil {
		return nil, err
	}
	if res.Published == nil || res.Published.Status != http.StatusCreated {
		return nil, fmt.Errorf("not acknowledged: %+v", res.Published)
	}
	return tgz, nil
}

// jobEnv asks the running issuer for a job's CI environment.
func jobEnv(trustURL string, spec oidc.JobSpec) (map[string]string, error) {
	b, _ := json.Marshal(spec)
	resp, err := http.Post(trustURL+"/oidc/job-env", "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Env map[string]string `json:"env"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("job-env: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out.Env, nil
}

// tarballBytes builds a package tarball without a testing.TB, for goroutines.
func tarballBytes(pj string) ([]byte, error) {
	var out []byte
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%v", r)
			}
		}()
		out = goodTarball(panicTB{}, pj)
	}()
	return out, err
}

// panicTB is a testing.TB whose Fatal panics; only Helper and Fatal are used.
type panicTB struct{ testing.TB }

func (panicTB) Helper()                      {}
func (panicTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (panicTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }

// checkDataDir inspects the registry's data directory of a killed process:
// every acknowledged version is present and byte-identical, every stored
// version's blobs exist and match its digest, and blobs no version
// references are counted, swept, and gone, and so are the temporary files
// killed blob writes left behind (never renamed into place). It returns the
// orphans swept and those temporary files.
func checkDataDir(t *testing.T, dir string, acks []acked) (orphans int, leftovers []string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.New(ctx, sqlite.Config{Dir: dir})
	if err != nil {
		t.Fatalf("reopening the store after SIGKILL: %v", err)
	}
	defer st.Close()
	pkg, err := st.Package(ctx, "octo-pkg")
	if err != nil {
		if len(acks) == 0 {
			return 0, nil
		}
		t.Fatalf("package after SIGKILL: %v", err)
	}
	refs := map[string]bool{}
	byVersion := map[string]store.Version{}
	for _, v := range pkg.Versions {
		byVersion[v.Version] = v
		refs[v.TarballKey] = true
		tgz := readBlob(t, st, v.TarballKey)
		if sum := sha512.Sum512(tgz); hex.EncodeToString(sum[:]) != v.SHA512 || int64(len(tgz)) != v.Size {
			t.Errorf("half-written version %s: tarball blob does not match its digest or size", v.Version)
		}
		if v.BundleKey == "" {
			t.Errorf("version %s lost its provenance bundle", v.Version)
			continue
		}
		refs[v.BundleKey] = true
		if b := readBlob(t, st, v.BundleKey); !json.Valid(b) {
			t.Errorf("half-written version %s: bundle blob is not JSON", v.Version)
		}
		if tag := crashTag(v.Version); pkg.DistTags[tag] != v.Version {
			t.Errorf("version %s without its dist-tag %s", v.Version, tag)
		}
	}
	for _, a := range acks {
		v, ok := byVersion[a.version]
		if !ok {
			t.Errorf("acknowledged publish %s is missing after SIGKILL", a.version)
			continue
		}
		if !bytes.Equal(readBlob(t, st, v.TarballKey), a.tarball) {
			t.Errorf("acknowledged publish %s changed after SIGKILL", a.version)
		}
	}
	blobDir := filepath.Join(dir, "blobs")
	filepath.WalkDir(blobDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		key, _ := filepath.Rel(blobDir, p)
		key = filepath.ToSlash(key)
		switch {
		case !strings.HasPrefix(key, "sha512/") || strings.Count(key, "/") != 1 || len(key) != len("sha512/")+128:
			leftovers = append(leftovers, key)
			if !loggedLeftover {
				loggedLeftover = true
				t.Logf("temporary blob file left by a killed write, which Sweep must delete: %s", key)
			}
		case !refs[key]:
			orphans++
		}
		return nil
	})
	swept, err := st.Sweep(ctx, 0)
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	temps := 0
	for _, k := range leftovers {
		if strings.HasSuffix(k, ".tmp") {
			temps++
		}
	}
	if swept != orphans+temps {
		t.Errorf("sweep deleted %d files, want the %d orphans and %d temporary files", swept, orphans, temps)
	}
	var leftAfterSweep []string
	filepath.WalkDir(blobDir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".tmp") {
			leftAfterSweep = append(leftAfterSweep, p)
		}
		return nil
	})
	if len(leftAfterSweep) > 0 {
		t.Errorf("%d temporary files of killed blob writes survive Sweep with grace 0: %q", len(leftAfterSweep), leftAfterSweep)
	}
	for key := range refs {
		r, _, err := st.OpenBlob(ctx, key)
		if err != nil {
			t.Errorf("sweep deleted a live blob %s: %v", key, err)
			continue
		}
		r.Close()
	}
	return orphans, leftovers
}

func readBlob(t *testing.T, st store.Store, key string) []byte {
	t.Helper()
	r, _, err := st.OpenBlob(context.Background(), key)
	if err != nil {
		t.Errorf("blob %s: %v", key, err)
		return nil
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return b
}

// checkServed fetches an acknowledged version from the registry and
// verifies its provenance bundle against the trusted root.
func checkServed(t *testing.T, regURL, trustURL string, v *sgverify.Verifier, a acked) {
	t.Helper()
	resp, err := http.Get(regURL + "/octo-pkg/-/octo-pkg-" + a.version + ".tgz")
	if err != nil {
		t.Fatal(err)
	}
	tgz, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(tgz, a.tarball) {
		t.Errorf("%s: served tarball (%d) differs from the acknowledged one", a.version, resp.StatusCode)
		return
	}
	resp, err = http.Get(regURL + "/-/provenant/v1/attestations/octo-pkg@" + a.version)
	if err != nil {
		t.Fatal(err)
	}
	var atts npmwire.AttestationsResponse
	err = json.NewDecoder(resp.Body).Decode(&atts)
	resp.Body.Close()
	if err != nil {
		t.Errorf("%s: attestations: %v", a.version, err)
		return
	}
	for _, att := range atts.Attestations {
		if att.PredicateType == npmwire.PredicatePublishV01 {
			continue
		}
		var b bundle.Bundle
		if err := b.UnmarshalJSON(att.Bundle); err != nil {
			t.Errorf("%s: bundle: %v", a.version, err)
			return
		}
		checkLogged(t, trustURL, att.Bundle)
		sum := sha512.Sum512(a.tarball)
		if _, err := v.Verify(&b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha512", sum[:]), sgverify.WithoutIdentitiesUnsafe())); err != nil {
			t.Errorf("%s: stored provenance no longer verifies: %v", a.version, err)
		}
		return
	}
	t.Errorf("%s: no provenance bundle served", a.version)
}

// A checkpoint is a signed tree head of the log.
type checkpoint struct {
	size uint64
	root []byte
}

func logPublicKey(t *testing.T, trustURL string) *ecdsa.PublicKey {
	t.Helper()
	resp, err := http.Get(trustURL + "/api/v1/log/publicKey")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("log public key: %s", b)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("log key is %T", k)
	}
	return ek
}

func readCheckpoint(t *testing.T, trustURL string, key *ecdsa.PublicKey) checkpoint {
	t.Helper()
	cp, err := tryCheckpoint(trustURL, key)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// tryCheckpoint reads the log's signed tree head and checks its signature
// with the log key and its agreement with the reported size and root.
func tryCheckpoint(trustURL string, key *ecdsa.PublicKey) (checkpoint, error) {
	resp, err := http.Get(trustURL + "/api/v1/log")
	if err != nil {
		return checkpoint{}, err
	}
	defer resp.Body.Close()
	var info struct {
		RootHash       string `json:"rootHash"`
		TreeSize       uint64 `json:"treeSize"`
		SignedTreeHead string `json:"signedTreeHead"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return checkpoint{}, err
	}
	text, sigs, ok := strings.Cut(info.SignedTreeHead, "\n\n")
	if !ok {
		return checkpoint{}, fmt.Errorf("checkpoint without signature: %q", info.SignedTreeHead)
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 3 {
		return checkpoint{}, fmt.Errorf("checkpoint body: %q", text)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, err
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return checkpoint{}, err
	}
	if size != info.TreeSize || hex.EncodeToString(root) != info.RootHash {
		return checkpoint{}, fmt.Errorf("checkpoint says %d/%x, log info %d/%s", size, root, info.TreeSize, info.RootHash)
	}
	digest := sha256.Sum256([]byte(text + "\n"))
	verified := false
	for _, line := range strings.Split(strings.TrimSpace(sigs), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "— "))
		if len(f) != 2 {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err == nil && len(raw) > 4 && ecdsa.VerifyASN1(key, digest[:], raw[4:]) {
			verified = true
		}
	}
	if !verified {
		return checkpoint{}, fmt.Errorf("checkpoint not signed by the log key: %q", info.SignedTreeHead)
	}
	return checkpoint{size: size, root: root}, nil
}

// checkConsistent fetches and verifies a consistency proof from old to cur.
func checkConsistent(t *testing.T, trustURL string, old, cur checkpoint) {
	t.Helper()
	if old.size > cur.size {
		t.Errorf("log shrank from %d to %d entries", old.size, cur.size)
		return
	}
	if old.size == 0 || old.size == cur.size {
		if old.size == cur.size && !bytes.Equal(old.root, cur.root) {
			t.Errorf("two roots for tree size %d", cur.size)
		}
		return
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/log/proof?firstSize=%d&lastSize=%d", trustURL, old.size, cur.size))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		RootHash string   `json:"rootHash"`
		Hashes   []string `json:"hashes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	hashes := make([][]byte, len(p.Hashes))
	for i, h := range p.Hashes {
		hashes[i], _ = hex.DecodeString(h)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.size, cur.size, hashes, old.root, cur.root); err != nil {
		t.Errorf("checkpoint %d is not consistent with checkpoint %d: %v", cur.size, old.size, err)
	}
}

// loggedLeftover makes the temp-file finding appear once per run.
var loggedLeftover bool

// crashTag is the dist-tag each crash-test version is published under.
func crashTag(version string) string { return "t" + strings.ReplaceAll(version, ".", "_") }

// checkLogged checks that the log still holds the bundle's entry, at its
// index, with the same body: no acknowledged entry was lost in a crash.
func checkLogged(t *testing.T, trustURL string, bundleJSON []byte) {
	t.Helper()
	var b struct {
		VerificationMaterial struct {
			TlogEntries []struct {
				LogIndex          string `json:"logIndex"`
				CanonicalizedBody string `json:"canonicalizedBody"`
			} `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(bundleJSON, &b); err != nil || len(b.VerificationMaterial.TlogEntries) == 0 {
		t.Errorf("bundle without a log entry: %v", err)
		return
	}
	e := b.VerificationMaterial.TlogEntries[0]
	if e.LogIndex == "" {
		e.LogIndex = "0" // protojson omits a zero index
	}
	resp, err := http.Get(trustURL + "/api/v1/log/entries?logIndex=" + e.LogIndex)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var entries map[string]struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil || len(entries) != 1 {
		t.Errorf("log entry %s: status %d, %v", e.LogIndex, resp.StatusCode, err)
		return
	}
	for _, got := range entries {
		if got.Body != e.CanonicalizedBody {
			t.Errorf("log entry %s differs from the one in the stored bundle", e.LogIndex)
		}
	}
}
