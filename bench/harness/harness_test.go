package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/provenant/provenant/npmwire"
)

// wrkOK is real wrk 4.1.0 output (Debian) with --latency.
const wrkOK = `Running 3s test @ http://127.0.0.1:4873/bench-pkg
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.28ms    5.15ms  62.33ms   89.60%
    Req/Sec     1.20k   441.12     2.14k    66.67%
  Latency Distribution
     50%    6.09ms
     75%    8.54ms
     90%   12.71ms
     99%   29.17ms
  7188 requests in 3.02s, 2.32MB read
Requests/sec:   2383.12
Transfer/sec:    788.94KB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    wrkResult
		wantErr string
	}{
		{name: "ok", out: wrkOK, want: wrkResult{RPS: 2383.12, P50MS: 6.09, P99MS: 29.17, Requests: 7188}},
		{
			name: "microseconds and seconds",
			out:  strings.NewReplacer("6.09ms", "640.00us", "29.17ms", "1.20s").Replace(wrkOK),
			want: wrkResult{RPS: 2383.12, P50MS: 0.64, P99MS: 1200, Requests: 7188},
		},
		{
			name: "non-2xx and socket errors counted",
			out: strings.Replace(wrkOK, "Requests/sec:",
				"  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 7188\nRequests/sec:", 1),
			want: wrkResult{RPS: 2383.12, P50MS: 6.09, P99MS: 29.17, Requests: 7188, Errors: 7198},
		},
		{name: "no latency distribution", out: strings.Replace(wrkOK, "     99%   29.17ms\n", "", 1), wantErr: "latency distribution"},
		{name: "connection refused", out: "unable to connect to 127.0.0.1:1 Connection refused\n", wantErr: "Requests/sec"},
		{name: "empty", out: "", wantErr: "Requests/sec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseWrk error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.P50MS-tt.want.P50MS) > 1e-9 || math.Abs(got.P99MS-tt.want.P99MS) > 1e-9 {
				t.Errorf("latency = %v/%v, want %v/%v", got.P50MS, got.P99MS, tt.want.P50MS, tt.want.P99MS)
			}
			got.P50MS, got.P99MS, tt.want.P50MS, tt.want.P99MS = 0, 0, 0, 0
			if got != tt.want {
				t.Errorf("parseWrk = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseWrk(f *testing.F) {
	f.Add(wrkOK)
	f.Add("Requests/sec: 1\n  50% 1us\n  99% 2s\n")
	f.Fuzz(func(t *testing.T, out string) {
		r, err := parseWrk(out)
		if err == nil && (r.RPS < 0 || r.Errors < 0) {
			t.Fatalf("negative figures from %q: %+v", out, r)
		}
	})
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"ok", "Name:\tnode\nVmPeak:\t 1 kB\nVmRSS:\t  130984 kB\nThreads:\t11\n", 130984 << 10, false},
		{"missing", "Name:\tzombie\nState:\tZ\n", 0, true},
		{"bad unit", "VmRSS:\t 12 MB\n", 0, true},
		{"bad number", "VmRSS:\t 1x kB\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseVmRSS([]byte(tt.status))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseVmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSelfRSS(t *testing.T) {
	// The test process itself has a resident set of at least a megabyte.
	got, err := readRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got < 1<<20 {
		t.Fatalf("RSS of the test process = %d bytes, want at least 1 MiB", got)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1000, 2}, 2},
	}
	for _, tt := range tests {
		in := append([]float64{}, tt.in...)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.in[i] {
				t.Fatalf("median reordered its input: %v", tt.in)
			}
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestFinishSkipsFailedRuns(t *testing.T) {
	r := &results{HTTP: []httpRow{
		{Runs: []wrkResult{{RPS: 10, P99MS: 1}, {RPS: 99999, P99MS: 0, Errors: 3}, {RPS: 30, P99MS: 3}}},
		{Runs: []wrkResult{{RPS: 10, Errors: 1}}},
	}}
	r.finish()
	if h := r.HTTP[0]; h.MedianRPS != 20 || h.MedianP99 != 2 || h.FailedRuns != 1 {
		t.Fatalf("finish = %+v, want median 20 req/s, p99 2 ms, 1 failed run", h)
	}
	if h := r.HTTP[1]; h.MedianRPS != 0 || h.FailedRuns != 1 {
		t.Fatalf("finish of only failed runs = %+v, want median 0", h)
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatalf("results of failed runs do not marshal: %v", err)
	}
}

func TestRotate(t *testing.T) {
	in := []string{"a", "b", "c"}
	for k, want := range []string{"abc", "bca", "cab", "abc"} {
		if got := strings.Join(rotate(in, k), ""); got != want {
			t.Errorf("rotate(%v, %d) = %s, want %s", in, k, got, want)
		}
	}
	if strings.Join(in, "") != "abc" {
		t.Fatal("rotate changed its input")
	}
}

func TestThousands(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 59123.6: "59,124", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(x); got != want {
			t.Errorf("thousands(%v) = %q, want %q", x, got, want)
		}
	}
}

func TestSpliceDoc(t *testing.T) {
	doc := "# B\n\nintro\n" + docBegin + "\nold table\n" + docEnd + "\nafter\n"
	got, err := spliceDoc(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# B\n\nintro\n" + docBegin + "\nnew table\n" + docEnd + "\nafter\n"
	if got != want {
		t.Fatalf("spliceDoc = %q, want %q", got, want)
	}
	if _, err := spliceDoc("no markers", "x"); err == nil {
		t.Fatal("spliceDoc without markers succeeded")
	}
	if _, err := spliceDoc(docEnd+docBegin, "x"); err == nil {
		t.Fatal("spliceDoc with swapped markers succeeded")
	}
}

func TestGenerate(t *testing.T) {
	const n = 60
	a, err := generate(n)
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate(n)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Seed) != 1+n*len(depVersions) {
		t.Fatalf("%d seed versions, want %d", len(a.Seed), 1+n*len(depVersions))
	}
	for i := range a.Seed {
		if !bytes.Equal(a.Seed[i].Tarball, b.Seed[i].Tarball) {
			t.Fatalf("%s@%s: tarball differs between two generations", a.Seed[i].Name, a.Seed[i].Version)
		}
	}

	// Every package is reachable from the project's direct dependencies,
	// and dependencies only point to existing packages.
	latest := map[string]map[string]any{}
	for _, pv := range a.Seed {
		latest[pv.Name] = pv.Manifest
	}
	reached := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		if reached[name] {
			return
		}
		m, ok := latest[name]
		if !ok {
			t.Fatalf("dependency %s does not exist", name)
		}
		reached[name] = true
		deps, _ := m["dependencies"].(map[string]string)
		for d := range deps {
			walk(d)
		}
	}
	for d := range a.InstallDeps {
		walk(d)
	}
	if len(reached) != n {
		t.Fatalf("install project reaches %d packages, want %d", len(reached), n)
	}
}

func TestTarballLayout(t *testing.T) {
	pv, err := newVersion(benchManifest())
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(pv.Tarball))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var pj map[string]any
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "package/package.json" {
			if err := json.NewDecoder(tr).Decode(&pj); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := strings.Join(names, ","); got != "package/README.md,package/index.js,package/package.json" {
		t.Fatalf("tarball entries = %s", got)
	}
	if pj["name"] != benchPackage || pj["version"] != "1.0.0" {
		t.Fatalf("package.json in tarball = %v", pj)
	}
}

func TestPublishBody(t *testing.T) {
	pv, err := newVersion(depManifest(7, "1.0.1", []int{8, 9}))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := publishBody(pv, "http://127.0.0.1:4873")
	if err != nil {
		t.Fatal(err)
	}
	body, err := npmwire.ParsePublishBody(raw)
	if err != nil {
		t.Fatalf("npmwire rejects the generated publish body: %v", err)
	}
	v, man := body.Version()
	if body.Name != "bench-dep-007" || v != "1.0.1" {
		t.Fatalf("publish body for %s@%s", body.Name, v)
	}
	tgz, err := body.Tarball(v, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tgz, pv.Tarball) {
		t.Fatal("attachment is not the tarball")
	}
	var vm npmwire.VersionManifest
	if err := json.Unmarshal(man, &vm); err != nil {
		t.Fatal(err)
	}
	sri, shasum := integrity(pv.Tarball)
	if vm.Dist.Integrity != sri || vm.Dist.Shasum != shasum {
		t.Fatalf("dist = %+v, want %s %s", vm.Dist, sri, shasum)
	}
	if want := "http://127.0.0.1:4873/bench-dep-007/-/bench-dep-007-1.0.1.tgz"; vm.Dist.Tarball != want {
		t.Fatalf("dist.tarball = %s, want %s", vm.Dist.Tarball, want)
	}
	if got := body.Attachments["bench-dep-007-1.0.1.tgz"].Data; got != base64.StdEncoding.EncodeToString(pv.Tarball) {
		t.Fatal("attachment data is not the base64 of the tarball")
	}
}

func TestMarkdownRatiosAndAims(t *testing.T) {
	r := &results{Config: config{Conns: []int{16}, Packages: 300}, Sizes: map[string]map[string]int{}}
	add := func(sc, target string, rps float64) {
		r.httpRow(sc, 16, target).Runs = []wrkResult{{RPS: rps, P99MS: 1}}
	}
	add(scenarioFull, nameProvenant, 40000)
	add(scenarioFull, nameVerdaccio, 2000)
	add(scenarioFull, nameCeiling, 60000)
	add(scenarioTarball, nameProvenant, 15000)
	add(scenarioTarball, nameVerdaccio, 2000)
	r.timing(measureInstall, nameProvenant).RunsMS = []float64{1000}
	r.timing(measureInstall, nameVerdaccio).RunsMS = []float64{2500}
	r.timing(measureInstall, nameCeiling).RunsMS = []float64{800}
	r.timing(measureSeed, nameProvenant).RunsMS = []float64{500}
	r.timing(measureSeed, nameVerdaccio).RunsMS = []float64{60000}
	r.finish()
	md := r.markdown()
	for _, want := range []string{
		"| Packument GET, full, 16 conn. | 40,000 req/s, p99 1.0 ms | 2,000 req/s, p99 1.0 ms | 20× more req/s | 60,000 req/s, p99 1.0 ms (30× peer) | 0.67 | ≥ 15× peer, ≥ 0.5 ceiling | yes |",
		"| Tarball GET, 16 conn. | 15,000 req/s, p99 1.0 ms | 2,000 req/s, p99 1.0 ms | 7.5× more req/s | — | — | ≥ 10× peer | **no** |",
		"| `npm install`, 300 packages, cold cache | 1,000 ms | 2,500 ms | 2.5× faster | 800 ms | 0.80 | ≥ 3× faster | **no** |",
		"| Publish PUTs of the 0 seed versions, 4 at a time (one run) | 500 ms | 60.0 s | 120× faster | | | | |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks\n%s\ngot:\n%s", want, md)
		}
	}
}
