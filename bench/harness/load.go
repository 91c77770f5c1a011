package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A wrkResult is what one wrk run measured.
type wrkResult struct {
	RPS   float64 `json:"rps"`
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// Requests is the number of completed requests.
	Requests int64 `json:"requests"`
	// Errors counts socket errors and non-2xx/3xx answers; a run with any is
	// reported as failed rather than averaged in.
	Errors int64 `json:"errors"`
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reReqs     = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in `)
	rePct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+([0-9]+)`)
	reSockErrs = regexp.MustCompile(`(?m)^\s*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
)

// parseWrk reads the text wrk --latency prints.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec line in wrk output")
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqs.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	found := 0
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return r, fmt.Errorf("latency %q: %w", m[0], err)
		}
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if m[1] == "50" {
			r.P50MS = v
		} else {
			r.P99MS = v
		}
		found++
	}
	if found != 2 {
		return r, fmt.Errorf("no latency distribution in wrk output (run with --latency)")
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += n
	}
	if m := reSockErrs.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	return r, nil
}

// wrkThreads is the number of wrk threads for c connections: two threads
// (one per core of the reference machine) once there are two connections.
func wrkThreads(c int) int { return min(c, 2) }

// runWrk loads url with c connections for d and returns wrk's figures.
func runWrk(ctx context.Context, url, accept string, c int, d time.Duration) (wrkResult, string, error) {
	args := []string{
		"-t", strconv.Itoa(wrkThreads(c)),
		"-c", strconv.Itoa(c),
		"-d", fmt.Sprintf("%ds", max(1, int(d.Round(time.Second).Seconds()))),
		"--timeout", "10s",
		"--latency",
	}
	if accept != "" {
		args = append(args, "-H", "Accept: "+accept)
	}
	args = append(args, url)
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, string(out), fmt.Errorf("wrk %s: %w: %s", strings.Join(args, " "), err, out)
	}
	r, err := parseWrk(string(out))
	return r, string(out), err
}

// rssSampler records the highest RSS of a target while it runs.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  int64
}

// sampleRSS polls t's RSS every 50 ms until the returned sampler is ended.
func sampleRSS(t *target) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if v, err := t.rss(); err == nil && v > s.max {
				s.max = v
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the highest RSS seen, in bytes.
func (s *rssSampler) end() int64 {
	close(s.stop)
	s.wg.Wait()
	return s.max
}
