package tlog_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
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
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
