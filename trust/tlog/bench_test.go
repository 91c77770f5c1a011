package tlog_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	rtnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"

	"github.com/provenant/provenant/trust/tlog"
)

// BenchmarkAppend measures POST /api/v1/log/entries over HTTP, each answer
// carrying its inclusion proof, with 1 and 64 concurrent clients. Entries
// (hashedrekord, ECDSA P-256) are signed before the timer starts; the log
// verifies each signature as part of the measured work. It reports
// appends/s and the p50/p99 POST→answer latency.
func BenchmarkAppend(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			tl := openLog(b, b.TempDir())
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = hashedrekord(signer, fmt.Appendf(nil, "bench %d %d", clients, i))
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			lat := make([]time.Duration, b.N)
			work := make(chan int)
			var wg sync.WaitGroup
			var failed sync.Once
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range work {
						t0 := time.Now()
						resp, err := client.Post(tl.url+"/api/v1/log/entries", "application/json", bytes.NewReader(bodies[i]))
						if err != nil || resp.StatusCode != http.StatusCreated {
							failed.Do(func() { b.Errorf("POST %d: %v %v", i, err, resp) })
							if resp != nil {
								resp.Body.Close()
							}
							continue
						}
						var buf [4096]byte
						for {
							if _, err := resp.Body.Read(buf[:]); err != nil {
								break
							}
						}
						resp.Body.Close()
						lat[i] = time.Since(t0)
					}
				}()
			}
			for i := range b.N {
				work <- i
			}
			close(work)
			wg.Wait()
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			// CPU time of the whole process (server and in-process client)
			// per append: a figure that does not depend on how busy the
			// machine is. 2 cores / cpu-µs is the CPU-bound ceiling.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime returns the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTesseraDirect is the peer for BenchmarkAppend: tessera's POSIX
// appender alone (no HTTP, no Rekor validation, no proofs), with the same
// batching, 64 goroutines each adding and waiting for integration. The
// ratio of the two is the cost of the Rekor facade.
func BenchmarkTesseraDirect(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	driver, err := posix.New(ctx, posix.Config{Path: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, _ := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	ns, err := rtnote.NewNoteSigner(ctx, "bench", sv)
	if err != nil {
		b.Fatal(err)
	}
	app, shutdown, _, err := tessera.NewAppender(ctx, driver, tessera.NewAppendOptions().WithCheckpointSigner(ns).
		WithBatching(tlog.DefaultBatchMaxSize, 10*time.Millisecond).WithCheckpointInterval(tlog.DefaultCheckpointInterval))
	if err != nil {
		b.Fatal(err)
	}
	defer shutdown(ctx)
	work := make(chan int)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := app.Add(ctx, tessera.NewEntry(fmt.Appendf(nil, "entry %d", i)))(); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	cpu0 := cpuTime()
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}
