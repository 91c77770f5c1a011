package ca_test

import (
	"bytes"
	"net/http"
	"syscall"
	"testing"
)

// BenchmarkIssueCertificate measures POST /api/v2/signingCert over HTTP:
// token verification (go-oidc, ES256), proof of possession, and a signed
// 10-minute leaf.
func BenchmarkIssueCertificate(b *testing.B) {
	f := newFixture(b)
	tok, err := f.issuer.Mint(job(), "sigstore")
	if err != nil {
		b.Fatal(err)
	}
	k := newKey(b)
	req := body(pubPEM(b, &k.PublicKey), proof(b, k, claimsOf(b, tok)["sub"].(string)))
	b.ResetTimer()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, _ := http.NewRequest(http.MethodPost, f.caURL+"/api/v2/signingCert", bytes.NewReader(req))
			r.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(r)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%v %v", err, resp)
			}
			resp.Body.Close()
		}
	})
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/op")
}
