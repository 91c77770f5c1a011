package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// Target names, as they appear in the results.
const (
	nameProvenant = "provenant"
	nameVerdaccio = "verdaccio"
	nameCeiling   = "ceiling"
)

// Scenario names of the HTTP load runs.
const (
	scenarioFull        = "packument-full"
	scenarioAbbreviated = "packument-abbreviated"
	scenarioTarball     = "tarball"
)

// results is everything one run measured, written to bench/results/*.json.
type results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Command  string    `json:"command"`
	Machine  machine   `json:"machine"`
	Config   config    `json:"config"`
	// Sizes of the bytes served in the load runs, per target and scenario.
	Sizes     map[string]map[string]int `json:"sizes"`
	HTTP      []httpRow                 `json:"http"`
	Timings   []timingRow               `json:"timings"`
	Footprint []footprintRow            `json:"footprint"`
	Notes     []string                  `json:"notes"`
}

// config is the run's parameters.
type config struct {
	Quick          bool     `json:"quick"`
	Rounds         int      `json:"rounds"`
	Duration       string   `json:"duration"`
	Conns          []int    `json:"conns"`
	Packages       int      `json:"packages"`
	PublishRounds  int      `json:"publish_rounds"`
	InstallRounds  int      `json:"install_rounds"`
	StartupRounds  int      `json:"startup_rounds"`
	SeedVersions   int      `json:"seed_versions"`
	Targets        []string `json:"targets"`
	VerdaccioVer   string   `json:"verdaccio_version"`
	PeerNodeVer    string   `json:"peer_node_version"`
	ClientNPMVer   string   `json:"client_npm_version"`
	ClientNodeVer  string   `json:"client_node_version"`
	ProvenantBuild string   `json:"provenant_build"`
}

// machine describes where the run happened.
type machine struct {
	CPU      string  `json:"cpu"`
	Cores    int     `json:"cores"`
	MemoryGB float64 `json:"memory_gb"`
	Kernel   string  `json:"kernel"`
	Go       string  `json:"go"`
	Wrk      string  `json:"wrk"`
	// LoadAvg is /proc/loadavg at the start and the end of the run: a load
	// well above zero means other work shared the CPUs.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

// httpRow is one scenario at one concurrency against one target.
type httpRow struct {
	Scenario   string      `json:"scenario"`
	Conns      int         `json:"conns"`
	Target     string      `json:"target"`
	Runs       []wrkResult `json:"runs"`
	MedianRPS  float64     `json:"median_rps"`
	MedianP99  float64     `json:"median_p99_ms"`
	FailedRuns int         `json:"failed_runs"`
}

// timingRow is one timed command against one target.
type timingRow struct {
	Measure  string    `json:"measure"`
	Target   string    `json:"target"`
	RunsMS   []float64 `json:"runs_ms"`
	MedianMS float64   `json:"median_ms"`
	Error    string    `json:"error,omitempty"`
}

// footprintRow is one target's startup and memory figures.
type footprintRow struct {
	Target        string    `json:"target"`
	StartupMS     []float64 `json:"startup_ms"`
	MedianStartup float64   `json:"median_startup_ms"`
	IdleRSSMB     []float64 `json:"idle_rss_mb"`
	MedianIdleMB  float64   `json:"median_idle_rss_mb"`
	PeakLoadMB    float64   `json:"peak_rss_under_load_mb"`
	AfterLoadMB   float64   `json:"rss_after_load_mb"`
}

// Timed measures.
const (
	measureNPMPublish  = "npm publish"
	measureProvPublish = "provenant publish --provenance"
	measureInstall     = "npm install"
	measureSeed        = "seed"
)

// median returns the median of xs, or NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// finish computes the medians of every row.
func (r *results) finish() {
	for i := range r.HTTP {
		h := &r.HTTP[i]
		var rps, p99 []float64
		h.FailedRuns = 0
		for _, w := range h.Runs {
			if w.Errors > 0 {
				h.FailedRuns++
				continue
			}
			rps = append(rps, w.RPS)
			p99 = append(p99, w.P99MS)
		}
		h.MedianRPS, h.MedianP99 = orZero(median(rps)), orZero(median(p99))
	}
	for i := range r.Timings {
		r.Timings[i].MedianMS = orZero(median(r.Timings[i].RunsMS))
	}
	for i := range r.Footprint {
		f := &r.Footprint[i]
		f.MedianStartup, f.MedianIdleMB = orZero(median(f.StartupMS)), orZero(median(f.IdleRSSMB))
	}
}

// orZero maps the NaN median of no samples to 0, which JSON can carry and
// the report shows as missing.
func orZero(x float64) float64 {
	if math.IsNaN(x) {
		return 0
	}
	return x
}

func (r *results) httpRow(scenario string, conns int, target string) *httpRow {
	for i := range r.HTTP {
		h := &r.HTTP[i]
		if h.Scenario == scenario && h.Conns == conns && h.Target == target {
			return h
		}
	}
	r.HTTP = append(r.HTTP, httpRow{Scenario: scenario, Conns: conns, Target: target})
	return &r.HTTP[len(r.HTTP)-1]
}

func (r *results) timing(measure, target string) *timingRow {
	for i := range r.Timings {
		t := &r.Timings[i]
		if t.Measure == measure && t.Target == target {
			return t
		}
	}
	r.Timings = append(r.Timings, timingRow{Measure: measure, Target: target})
	return &r.Timings[len(r.Timings)-1]
}

func (r *results) footprint(target string) *footprintRow {
	for i := range r.Footprint {
		if r.Footprint[i].Target == target {
			return &r.Footprint[i]
		}
	}
	r.Footprint = append(r.Footprint, footprintRow{Target: target})
	return &r.Footprint[len(r.Footprint)-1]
}

func (r *results) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Aims from issue 8.
const (
	aimPackumentVsPeer    = 15.0
	aimPackumentVsCeiling = 0.5
	aimTarballVsPeer      = 10.0
	aimInstallVsPeer      = 3.0
	aimIdleRSSMB          = 40.0
	aimAfterLoadRSSMB     = 100.0
	aimStartupMS          = 100.0
)

var scenarioTitles = map[string]string{
	scenarioFull:        "Packument GET, full",
	scenarioAbbreviated: "Packument GET, abbreviated",
	scenarioTarball:     "Tarball GET",
}

// markdown renders the results table and the machine description.
func (r *results) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run of %s, %s (%s). Medians of %d alternating rounds (HTTP: %s each; publish: %d; install: %d; startup: %d).\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Finished.Sub(r.Started).Round(time.Second), modeName(r.Config.Quick),
		r.Config.Rounds, r.Config.Duration, r.Config.PublishRounds, r.Config.InstallRounds, r.Config.StartupRounds)

	b.WriteString("| Measure | Provenant | Verdaccio | Provenant vs Verdaccio | Bare Go ceiling | Provenant ÷ ceiling | Aim | Met |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, sc := range []string{scenarioFull, scenarioAbbreviated, scenarioTarball} {
		for _, c := range r.Config.Conns {
			p, v, ce := r.findHTTP(sc, c, nameProvenant), r.findHTTP(sc, c, nameVerdaccio), r.findHTTP(sc, c, nameCeiling)
			if p == nil && v == nil {
				continue
			}
			vsPeer, vsCeil := math.NaN(), math.NaN()
			if p != nil && v != nil {
				vsPeer = p.MedianRPS / v.MedianRPS
			}
			if p != nil && ce != nil {
				vsCeil = p.MedianRPS / ce.MedianRPS
			}
			var aim, met string
			if sc == scenarioTarball {
				aim, met = fmt.Sprintf("≥ %g× peer", aimTarballVsPeer), okMark(vsPeer >= aimTarballVsPeer, vsPeer)
			} else {
				aim = fmt.Sprintf("≥ %g× peer, ≥ %g ceiling", aimPackumentVsPeer, aimPackumentVsCeiling)
				met = okMark(vsPeer >= aimPackumentVsPeer && vsCeil >= aimPackumentVsCeiling, vsPeer*vsCeil)
			}
			ceil := fmtHTTP(ce)
			if ce != nil && v != nil {
				// How far above the peer any Go server gets here: the bound
				// on the Provenant/Verdaccio ratio on this machine.
				ceil += fmt.Sprintf(" (%s× peer)", sig(ce.MedianRPS/v.MedianRPS))
			}
			fmt.Fprintf(&b, "| %s, %d conn. | %s | %s | %s | %s | %s | %s | %s |\n",
				scenarioTitles[sc], c, fmtHTTP(p), fmtHTTP(v), fmtRatio(vsPeer, "more req/s"), ceil, fmtFrac(vsCeil), aim, met)
		}
	}

	pp, vp := r.findTiming(measureNPMPublish, nameProvenant), r.findTiming(measureNPMPublish, nameVerdaccio)
	if pp != nil || vp != nil {
		ratio := ratioOf(vp, pp)
		fmt.Fprintf(&b, "| `npm publish`, whole process | %s | %s | %s | | | | |\n", fmtMS(pp), fmtMS(vp), fmtRatio(ratio, "faster"))
	}
	if prov := r.findTiming(measureProvPublish, nameProvenant); prov != nil || vp != nil {
		ratio := ratioOf(vp, prov)
		fmt.Fprintf(&b, "| `provenant publish --provenance` (Provenant) vs plain `npm publish` (Verdaccio) | %s | %s | %s | | | no slower | %s |\n",
			fmtMS(prov), fmtMS(vp), fmtRatio(ratio, "faster"), okMark(ratio >= 1, ratio))
	}
	pi, vi, ci := r.findTiming(measureInstall, nameProvenant), r.findTiming(measureInstall, nameVerdaccio), r.findTiming(measureInstall, nameCeiling)
	if pi != nil || vi != nil {
		ratio := ratioOf(vi, pi)
		fmt.Fprintf(&b, "| `npm install`, %d packages, cold cache | %s | %s | %s | %s | %s | ≥ %g× faster | %s |\n",
			r.Config.Packages, fmtMS(pi), fmtMS(vi), fmtRatio(ratio, "faster"), fmtMS(ci), fmtFrac(ratioOf(ci, pi)), aimInstallVsPeer, okMark(ratio >= aimInstallVsPeer, ratio))
	}

	ps, vs := r.findTiming(measureSeed, nameProvenant), r.findTiming(measureSeed, nameVerdaccio)
	if ps != nil || vs != nil {
		fmt.Fprintf(&b, "| Publish PUTs of the %d seed versions, %d at a time (one run) | %s | %s | %s | | | | |\n",
			r.Config.SeedVersions, seedWorkers, fmtMS(ps), fmtMS(vs), fmtRatio(ratioOf(vs, ps), "faster"))
	}

	pf, vf := r.findFootprint(nameProvenant), r.findFootprint(nameVerdaccio)
	if pf != nil || vf != nil {
		get := func(f *footprintRow, g func(*footprintRow) float64) float64 {
			if f == nil || g(f) == 0 {
				return math.NaN()
			}
			return g(f)
		}
		rows := []struct {
			title string
			get   func(*footprintRow) float64
			unit  string
			aim   float64
		}{
			{"Startup to first 200 on a packument", func(f *footprintRow) float64 { return f.MedianStartup }, "ms", aimStartupMS},
			{"RSS idle (after startup)", func(f *footprintRow) float64 { return f.MedianIdleMB }, "MB", aimIdleRSSMB},
			{"RSS peak under load", func(f *footprintRow) float64 { return f.PeakLoadMB }, "MB", 0},
			{"RSS after the load", func(f *footprintRow) float64 { return f.AfterLoadMB }, "MB", aimAfterLoadRSSMB},
		}
		for _, row := range rows {
			p, v := get(pf, row.get), get(vf, row.get)
			aim, met := "", ""
			if row.aim > 0 {
				aim, met = fmt.Sprintf("< %g %s", row.aim, row.unit), okMark(p < row.aim, p)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | | | %s | %s |\n", row.title, fmtUnit(p, row.unit), fmtUnit(v, row.unit), fmtRatio(v/p, "less"), aim, met)
		}
	}

	b.WriteString("\nPayloads: ")
	var parts []string
	for _, t := range []string{nameProvenant, nameVerdaccio, nameCeiling} {
		s, ok := r.Sizes[t]
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s full %d B, abbreviated %d B, tarball %d B", t, s[scenarioFull], s[scenarioAbbreviated], s[scenarioTarball]))
	}
	b.WriteString(strings.Join(parts, "; ") + ".\n\n")

	m := r.Machine
	fmt.Fprintf(&b, "Machine: %s, %d cores, %.0f GB RAM, Linux %s; %s; %s. Load average at start %s, at end %s.\n",
		m.CPU, m.Cores, m.MemoryGB, m.Kernel, m.Go, m.Wrk, m.LoadAvgStart, m.LoadAvgEnd)
	c := r.Config
	fmt.Fprintf(&b, "Peer: Verdaccio %s on Node %s. Client: npm %s on Node %s. Provenant: %s.\n",
		c.VerdaccioVer, c.PeerNodeVer, c.ClientNPMVer, c.ClientNodeVer, c.ProvenantBuild)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n- %s", n)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}

func modeName(quick bool) string {
	if quick {
		return "QUICK=1, indicative only"
	}
	return "full run"
}

func (r *results) findHTTP(sc string, c int, t string) *httpRow {
	for i := range r.HTTP {
		h := &r.HTTP[i]
		if h.Scenario == sc && h.Conns == c && h.Target == t && h.MedianRPS > 0 {
			return h
		}
	}
	return nil
}

func (r *results) findTiming(m, t string) *timingRow {
	for i := range r.Timings {
		x := &r.Timings[i]
		if x.Measure == m && x.Target == t && x.MedianMS > 0 {
			return x
		}
	}
	return nil
}

func (r *results) findFootprint(t string) *footprintRow {
	for i := range r.Footprint {
		if r.Footprint[i].Target == t {
			return &r.Footprint[i]
		}
	}
	return nil
}

// ratioOf is slow.MedianMS / fast.MedianMS: how many times faster fast is.
func ratioOf(slow, fast *timingRow) float64 {
	if slow == nil || fast == nil {
		return math.NaN()
	}
	return slow.MedianMS / fast.MedianMS
}

func fmtHTTP(h *httpRow) string {
	if h == nil {
		return "—"
	}
	return fmt.Sprintf("%s req/s, p99 %s ms", thousands(h.MedianRPS), sig(h.MedianP99))
}

func fmtMS(t *timingRow) string {
	if t == nil {
		return "—"
	}
	if t.MedianMS >= 10000 {
		return fmt.Sprintf("%.1f s", t.MedianMS/1000)
	}
	return fmt.Sprintf("%s ms", thousands(t.MedianMS))
}

func fmtUnit(v float64, unit string) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%s %s", thousands(v), unit)
}

func fmtRatio(x float64, what string) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	return fmt.Sprintf("%s× %s", sig(x), what)
}

func fmtFrac(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.2f", x)
}

func okMark(ok bool, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if ok {
		return "yes"
	}
	return "**no**"
}

// sig formats x with two significant digits below 10 and none above.
func sig(x float64) string {
	switch {
	case x < 1:
		return fmt.Sprintf("%.2f", x)
	case x < 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return thousands(x)
	}
}

// thousands formats x rounded to an integer with comma separators.
func thousands(x float64) string {
	n := int64(math.Round(x))
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Markers delimiting the generated section of BENCHMARKS.md.
const (
	docBegin = "<!-- bench:results:begin -->"
	docEnd   = "<!-- bench:results:end -->"
)

// spliceDoc replaces the text between the markers in doc with section.
func spliceDoc(doc, section string) (string, error) {
	i := strings.Index(doc, docBegin)
	j := strings.Index(doc, docEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %s … %s not found", docBegin, docEnd)
	}
	return doc[:i+len(docBegin)] + "\n" + section + doc[j:], nil
}
