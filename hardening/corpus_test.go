package hardening

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/trust/oidc"
)

// A request is one HTTP request of the corpus.
type request struct {
	method, path, token string
	body                []byte
	// stream, when set, is sent instead of body with this Content-Length.
	stream     io.Reader
	streamSize int64
}

// A corpusCase is one bad request generated from a good publish. It must
// be rejected with status, an {"error"} naming the check (containing
// every string of want), and change nothing in the store.
type corpusCase struct {
	group, name string
	status      int
	want        []string
	build       func(t *testing.T) request
	// bug names a known registry bug that makes the case fail today; the
	// case is then reported instead of failing the test, and the test
	// fails once the bug is fixed so that the mark gets removed.
	bug string
}

// corpus holds the good material the cases are generated from.
type corpus struct {
	s           *stack
	alice, bob  string // tokens; alice owns the package
	name        string
	good        *publish // octo-pkg@1.0.1 with provenance, never published by a case
	goodStmt    []byte
	published   *publish // octo-pkg@1.0.0, published before the cases
	otherBundle []byte   // a good bundle for octo-pkg@1.0.2
	watch       []string
}

const corpusVersion = "1.0.1"

func TestAdversarialCorpus(t *testing.T) {
	c := &corpus{s: newStack(t, stackOptions{
		noGitLab: true,
		packages: []verify.PackageRules{{Match: "guarded-pkg", Rules: verify.Rules{
			TrustedPublishers: []verify.TrustedPublisher{{Repository: "https://github.com/octo-org/release-bot", Workflow: workflowFile}},
		}}},
	}), name: "octo-pkg"}
	s := c.s
	c.alice = addUser(t, s.srv.URL, "alice")
	c.bob = addUser(t, s.srv.URL, "bob")

	// A good publish of 1.0.0 establishes the package, its owner and tag.
	tgz0 := goodTarball(t, packageJSON(c.name, "1.0.0"))
	c.published = newPublish(c.name, "1.0.0", tgz0, s.provenanceBundle(t, s.job(), c.name, "1.0.0", tgz0))
	if r := s.do(t, http.MethodPut, c.published.path(), c.alice, c.published.body(t)); r.status != http.StatusCreated {
		t.Fatalf("good publish of 1.0.0: %d %s", r.status, r.body)
	}
	tgz := goodTarball(t, packageJSON(c.name, corpusVersion))
	c.goodStmt = s.statementFor(t, s.job(), c.name, corpusVersion, tgz)
	c.good = newPublish(c.name, corpusVersion, tgz, s.signStatement(t, s.job(), c.goodStmt, signOptions{}))
	tgz2 := goodTarball(t, packageJSON(c.name, "1.0.2"))
	c.otherBundle = s.provenanceBundle(t, s.job(), c.name, "1.0.2", tgz2)
	c.watch = []string{c.name, "guarded-pkg", "other-pkg"}

	cases := c.cases()
	if len(cases) < 50 {
		t.Fatalf("only %d corpus cases", len(cases))
	}
	groups := map[string]int{}
	var ok, knownBugs int
	for _, tc := range cases {
		groups[tc.group]++
		passed := t.Run(tc.group+"/"+tc.name, func(t *testing.T) {
			if tc.bug != "" {
				// Run on a private T so that a known bug is reported, not fatal.
				if c.check(&quietT{T: t}, tc) {
					t.Errorf("known bug %q no longer reproduces: remove the mark", tc.bug)
				} else {
					t.Logf("KNOWN BUG (registry): %s", tc.bug)
				}
				return
			}
			c.check(t, tc)
		})
		switch {
		case tc.bug != "":
			knownBugs++
		case passed:
			ok++
		}
	}

	// The unmutated material the cases came from is accepted: every
	// rejection above was caused by its mutation.
	if r := s.do(t, http.MethodPut, c.good.path(), c.alice, c.good.body(t)); r.status != http.StatusCreated {
		t.Fatalf("the good publish the corpus was generated from is rejected: %d %s", r.status, r.body)
	}
	t.Logf("corpus: %d cases run (%v), %d rejected correctly, %d known registry bugs", len(cases), groups, ok, knownBugs)
	fmt.Printf("hardening corpus: %d cases, %d rejected correctly, %d known bugs\n", len(cases), ok, knownBugs)
}

// quietT records failures without failing the parent test.
type quietT struct {
	*testing.T
	failed bool
	msgs   []string
}

func (q *quietT) Errorf(format string, args ...any) {
	q.failed = true
	q.msgs = append(q.msgs, fmt.Sprintf(format, args...))
	q.T.Logf("(known bug) "+format, args...)
}

// checker is the part of testing.T check needs.
type checker interface {
	Helper()
	Errorf(format string, args ...any)
}

// check sends the case's request and asserts status, message and that
// nothing was stored. It reports whether the case passed.
func (c *corpus) check(t checker, tc corpusCase) bool {
	t.Helper()
	tt := testingT(t)
	req := tc.build(tt)
	before := c.s.snapshot(tt, c.watch...)
	var r response
	if req.stream != nil {
		r = c.s.doStream(tt, req)
	} else {
		r = c.s.do(tt, req.method, req.path, req.token, req.body)
	}
	after := c.s.snapshot(tt, c.watch...)
	passed := true
	if r.status != tc.status {
		t.Errorf("status %d, want %d: %s", r.status, tc.status, clip(r.body))
		passed = false
	}
	msg := r.errorText()
	if msg == "" {
		t.Errorf("no {\"error\": ...} body: %s", clip(r.body))
		passed = false
	}
	for _, w := range tc.want {
		if !containsAny(msg, strings.Split(w, "|")) {
			t.Errorf("error %q does not name %q", msg, w)
			passed = false
		}
	}
	if d := before.diff(after); d != "" {
		t.Errorf("a rejected request changed the store: %s", d)
		passed = false
	}
	return passed
}

// containsAny reports whether msg contains one of the alternatives.
func containsAny(msg string, alts []string) bool {
	for _, a := range alts {
		if strings.Contains(msg, a) {
			return true
		}
	}
	return false
}

func testingT(t checker) *testing.T {
	switch v := t.(type) {
	case *testing.T:
		return v
	case *quietT:
		return v.T
	}
	panic("unknown checker")
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// doStream sends a request whose body is streamed with a declared length.
func (s *stack) doStream(t *testing.T, req request) response {
	t.Helper()
	hr, err := http.NewRequest(req.method, s.srv.URL+req.path, req.stream)
	if err != nil {
		t.Fatal(err)
	}
	hr.ContentLength = req.streamSize
	hr.Header.Set("Authorization", "Bearer "+req.token)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

// put is a publish request by alice.
func (c *corpus) put(t *testing.T, p *publish) request {
	return request{method: http.MethodPut, path: p.path(), token: c.alice, body: p.body(t)}
}

// withTarball is the good publish with another tarball, its digests
// recomputed, the good bundle kept (shape checks run before provenance).
func (c *corpus) withTarball(tgz []byte) *publish {
	p := c.good.clone()
	p.tarball = tgz
	return p
}

// withBundle is the good publish with another bundle.
func (c *corpus) withBundle(b []byte) *publish {
	p := c.good.clone()
	p.bundle = b
	return p
}

// signed is the good publish with a bundle signing stmt as spec's job.
func (c *corpus) signed(t *testing.T, spec oidc.JobSpec, stmt []byte, o signOptions) *publish {
	return c.withBundle(c.s.signStatement(t, spec, stmt, o))
}

// statementWith is npm's statement for the good tarball with edits to its
// JSON: f receives the decoded statement.
func (c *corpus) statementWith(t *testing.T, f func(st map[string]any)) []byte {
	var st map[string]any
	if err := json.Unmarshal(c.goodStmt, &st); err != nil {
		t.Fatal(err)
	}
	f(st)
	b, _ := json.Marshal(st)
	return b
}

// mutated is the good publish with its bundle mutated by f.
func (c *corpus) mutated(t *testing.T, f func(*protobundle.Bundle)) *publish {
	return c.withBundle(mutateBundle(t, c.good.bundle, f))
}

func tlogEntry(b *protobundle.Bundle) *protorekor.TransparencyLogEntry {
	return b.GetVerificationMaterial().GetTlogEntries()[0]
}

func flip(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)/2] ^= 0x01
	return out
}

func reqTar(entries ...tarEntry) []tarEntry { return entries }

func (c *corpus) pj() string { return packageJSON(c.name, corpusVersion) }

func (c *corpus) cases() []corpusCase {
	const shape = "request-shape check failed"
	unprocessable, badRequest := http.StatusUnprocessableEntity, http.StatusBadRequest
	prov := "Error verifying sigstore provenance bundle: "
	s := c.s
	var cs []corpusCase
	add := func(group, name string, status int, want []string, build func(t *testing.T) request) {
		cs = append(cs, corpusCase{group: group, name: name, status: status, want: want, build: build})
	}
	tarCase := func(name string, want []string, build func(t *testing.T) []byte) {
		add("tarball", name, unprocessable, append([]string{"tarball"}, want...), func(t *testing.T) request {
			return c.put(t, c.withTarball(build(t)))
		})
	}
	bundleCase := func(group, name string, want string, build func(t *testing.T) *publish) {
		add(group, name, unprocessable, []string{prov, want + " check failed"}, func(t *testing.T) request { return c.put(t, build(t)) })
	}

	// --- tarball ---
	add("tarball", "integrity-mismatch", unprocessable, []string{shape, "dist.integrity"}, func(t *testing.T) request {
		p := c.good.clone()
		m := p.defaultManifest()["dist"].(map[string]any)
		m["integrity"] = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
		p.manifest = map[string]any{"dist": m}
		return c.put(t, p)
	})
	add("tarball", "shasum-mismatch", unprocessable, []string{shape, "dist.shasum"}, func(t *testing.T) request {
		p := c.good.clone()
		m := p.defaultManifest()["dist"].(map[string]any)
		m["shasum"] = strings.Repeat("0", 40)
		p.manifest = map[string]any{"dist": m}
		return c.put(t, p)
	})
	add("tarball", "length-mismatch", unprocessable, []string{shape, "length is"}, func(t *testing.T) request {
		p := c.good.clone()
		p.attachments = p.defaultAttachments()
		p.attachments[npmwire.TarballAttachmentName(c.name, corpusVersion)].(map[string]any)["length"] = len(p.tarball) + 1
		return c.put(t, p)
	})
	add("tarball", "bad-base64", unprocessable, []string{shape, "bad base64"}, func(t *testing.T) request {
		p := c.good.clone()
		p.attachments = p.defaultAttachments()
		a := p.attachments[npmwire.TarballAttachmentName(c.name, corpusVersion)].(map[string]any)
		a["data"] = "!!" + a["data"].(string)[2:]
		return c.put(t, p)
	})
	tarCase("not-gzip", []string{"not gzip"}, func(t *testing.T) []byte {
		return makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()}))
	})
	tarCase("truncated-gzip", []string{"tarball"}, func(t *testing.T) []byte {
		g := goodTarball(t, c.pj())
		return g[:len(g)-12]
	})
	tarCase("dot-dot-path", []string{"leaves the package"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()}, tarEntry{name: "package/../../evil.js", body: "x"})))
	})
	tarCase("absolute-path", []string{"absolute entry path"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()}, tarEntry{name: "/etc/cron.d/evil", body: "x"})))
	})
	tarCase("windows-absolute-path", []string{"absolute entry path"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()}, tarEntry{name: `C:\evil.js`, body: "x"})))
	})
	tarCase("symlink-out", []string{"symlink", "outside the package"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()},
			tarEntry{name: "package/passwd", typeflag: tar.TypeSymlink, link: "../../../etc/passwd"})))
	})
	tarCase("symlink-absolute", []string{"symlink", "outside the package"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()},
			tarEntry{name: "package/lib/passwd", typeflag: tar.TypeSymlink, link: "/etc/passwd"})))
	})
	tarCase("hardlink-out", []string{"leaves the package"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: c.pj()},
			tarEntry{name: "package/shadow", typeflag: tar.TypeLink, link: "package/../../etc/shadow"})))
	})
	tarCase("decompression-bomb", []string{"size over"}, func(t *testing.T) []byte {
		return bomb(t, c.pj(), limits.MaxUnpackedBytes+1)
	})
	tarCase("size-header-lies", []string{"size over"}, func(t *testing.T) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(c.pj()))})
		tw.Write([]byte(c.pj()))
		tw.WriteHeader(&tar.Header{Name: "package/huge.bin", Mode: 0o644, Size: limits.MaxUnpackedBytes + 1})
		tw.Flush()
		return gz(t, buf.Bytes()) // the data never follows
	})
	tarCase("too-many-entries", []string{fmt.Sprintf("more than %d entries", limits.MaxTarEntries)}, func(t *testing.T) []byte {
		return manyEntries(t, c.pj(), limits.MaxTarEntries+1)
	})
	tarCase("package-json-too-large", []string{"package.json is"}, func(t *testing.T) []byte {
		big := strings.TrimSuffix(c.pj(), "}") + `,"pad":"` + strings.Repeat("x", limits.MaxPackageJSONBytes) + `"}`
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: big})))
	})
	tarCase("package-json-other-name", []string{"tarball package.json", "other-pkg"}, func(t *testing.T) []byte {
		return goodTarball(t, packageJSON("other-pkg", corpusVersion))
	})
	tarCase("package-json-other-version", []string{"tarball package.json", "9.9.9"}, func(t *testing.T) []byte {
		return goodTarball(t, packageJSON(c.name, "9.9.9"))
	})
	tarCase("package-json-not-json", []string{"tarball package.json"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: "{name: octo-pkg"})))
	})
	tarCase("missing-package-json", []string{"no package/package.json"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "package/index.js", body: "module.exports = 1\n"})))
	})
	tarCase("package-json-outside-package-dir", []string{"no package/package.json"}, func(t *testing.T) []byte {
		return gz(t, makeTar(t, reqTar(tarEntry{name: "other/package.json", body: c.pj()})))
	})

	// --- bundle ---
	bundleCase("bundle", "unknown-media-type", "bundle-media-type", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { b.MediaType = "application/vnd.dev.sigstore.bundle+json;version=9.9" })
	})
	add("bundle", "malformed-json", unprocessable, []string{shape, "not valid JSON"}, func(t *testing.T) request {
		return c.put(t, c.withBundle(c.good.bundle[:len(c.good.bundle)/2]))
	})
	bundleCase("bundle", "not-a-bundle", "bundle-parse", func(t *testing.T) *publish {
		return c.withBundle([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":"not an envelope"}`))
	})
	bundleCase("bundle", "missing-verification-material", "bundle-parse", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { b.VerificationMaterial = nil })
	})
	bundleCase("bundle", "certificate-untrusted-ca", "certificate-chain", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.goodStmt, signOptions{certs: s.untrustedCerts(t)})
	})
	bundleCase("bundle", "certificate-expired-at-integrated-time", "certificate-validity", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.goodStmt, signOptions{certs: s.expiredCerts(t)})
	})
	// The log entry records the signature and the payload hash, and
	// sigstore-go compares them before the signature itself: a bad
	// signature or payload is caught as a mismatch with the log entry.
	bundleCase("bundle", "signature-mismatch", "tlog-entry-mismatch", func(t *testing.T) *publish {
		// Sign with a fresh key and keep the certificate and log entry:
		// the signature no longer matches the certificate's key.
		other := mutateBundle(t, c.otherBundle, func(*protobundle.Bundle) {})
		return c.mutated(t, func(b *protobundle.Bundle) {
			var ob protobundle.Bundle
			unmarshalBundle(t, other, &ob)
			b.GetDsseEnvelope().Signatures = ob.GetDsseEnvelope().GetSignatures()
		})
	})
	bundleCase("bundle", "signature-bit-flipped", "tlog-entry-mismatch", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			sig := b.GetDsseEnvelope().GetSignatures()[0]
			sig.Sig = flip(sig.Sig)
		})
	})
	bundleCase("bundle", "dsse-payload-swapped", "tlog-entry-mismatch", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			var ob protobundle.Bundle
			unmarshalBundle(t, c.otherBundle, &ob)
			b.GetDsseEnvelope().Payload = ob.GetDsseEnvelope().GetPayload()
		})
	})
	bundleCase("bundle", "subject-other-package", "subject-name", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.statementWith(t, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["name"] = "pkg:npm/other-pkg@" + corpusVersion
		}), signOptions{})
	})
	bundleCase("bundle", "subject-other-version", "subject-name", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.statementWith(t, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["name"] = "pkg:npm/octo-pkg@1.0.2"
		}), signOptions{})
	})
	bundleCase("bundle", "subject-other-digest", "subject-digest", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.statementWith(t, func(st map[string]any) {
			st["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha512": strings.Repeat("ab", 64)}
		}), signOptions{})
	})
	bundleCase("bundle", "several-subjects", "subject-count", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.statementWith(t, func(st map[string]any) {
			subs := st["subject"].([]any)
			st["subject"] = append(subs, map[string]any{"name": "pkg:npm/other-pkg@1.0.0", "digest": map[string]any{"sha512": strings.Repeat("cd", 64)}})
		}), signOptions{})
	})
	bundleCase("bundle", "predicate-type-not-allowed", "predicate-type", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.statementWith(t, func(st map[string]any) { st["predicateType"] = "https://example.com/evil/v1" }), signOptions{})
	})
	bundleCase("bundle", "payload-type-not-in-toto", "payload-type", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.goodStmt, signOptions{payloadType: "application/json"})
	})
	bundleCase("bundle", "message-signature-not-dsse", "bundle-content", func(t *testing.T) *publish {
		return c.signed(t, s.job(), c.goodStmt, signOptions{plain: true})
	})

	// --- log ---
	bundleCase("log", "set-forged", "tlog-set", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			e := tlogEntry(b)
			e.InclusionPromise.SignedEntryTimestamp = flip(e.InclusionPromise.SignedEntryTimestamp)
		})
	})
	bundleCase("log", "integrated-time-altered", "tlog-set", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { tlogEntry(b).IntegratedTime -= 30 })
	})
	bundleCase("log", "inclusion-proof-hash-altered", "tlog-inclusion", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			ip := tlogEntry(b).InclusionProof
			if len(ip.Hashes) == 0 {
				ip.Hashes = [][]byte{make([]byte, 32)}
				return
			}
			ip.Hashes[0] = flip(ip.Hashes[0])
		})
	})
	bundleCase("log", "inclusion-proof-root-altered", "tlog-inclusion", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { ip := tlogEntry(b).InclusionProof; ip.RootHash = flip(ip.RootHash) })
	})
	bundleCase("log", "checkpoint-unknown-key", "tlog-checkpoint", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			cp := tlogEntry(b).InclusionProof.Checkpoint
			cp.Envelope = resignCheckpoint(t, cp.Envelope)
		})
	})
	bundleCase("log", "log-id-unknown", "trusted-root", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			id := make([]byte, 32)
			rand.Read(id)
			tlogEntry(b).LogId.KeyId = id
		})
	})
	bundleCase("log", "entry-body-of-another-envelope", "tlog-entry-mismatch", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) {
			var ob protobundle.Bundle
			unmarshalBundle(t, c.otherBundle, &ob)
			b.VerificationMaterial.TlogEntries = ob.VerificationMaterial.TlogEntries
		})
	})
	bundleCase("log", "no-tlog-entry", "tlog-entry-kind", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { b.VerificationMaterial.TlogEntries = nil })
	})
	bundleCase("log", "entry-kind-unknown", "tlog-entry-kind", func(t *testing.T) *publish {
		return c.mutated(t, func(b *protobundle.Bundle) { tlogEntry(b).KindVersion.Kind = "rekord" })
	})

	// --- identity and claims ---
	gitlab := oidc.JobSpec{Platform: oidc.GitLabCI, Repository: repoName, SHA: s.commit.SHA, Ref: "refs/heads/main"}
	bundleCase("identity", "issuer-not-allowed", "issuer-allowed", func(t *testing.T) *publish {
		return c.signed(t, gitlab, c.goodStmt, signOptions{})
	})
	differ := func(name, check string, edit func(*oidc.JobSpec)) {
		bundleCase("identity", name, check, func(t *testing.T) *publish {
			spec := s.job()
			edit(&spec)
			return c.signed(t, s.job(), s.statementFor(t, spec, c.name, corpusVersion, c.good.tarball), signOptions{})
		})
	}
	differ("statement-other-repository", "certificate-source-repository", func(j *oidc.JobSpec) { j.Repository = "octo-org/evil-fork" })
	differ("statement-other-commit", "certificate-source-commit", func(j *oidc.JobSpec) { j.SHA = strings.Repeat("e", 40) })
	differ("statement-other-ref", "certificate-source-ref", func(j *oidc.JobSpec) { j.Ref = "refs/heads/evil" })
	differ("statement-other-workflow", "certificate-build-config", func(j *oidc.JobSpec) { j.Workflow = ".github/workflows/evil.yml" })
	repoClaim := func(name, check string, pj string) {
		bundleCase("identity", name, check, func(t *testing.T) *publish {
			tgz := gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: pj}, tarEntry{name: "package/index.js", body: "module.exports = 1\n"})))
			p := c.withTarball(tgz)
			p.bundle = s.provenanceBundle(t, s.job(), c.name, corpusVersion, tgz)
			return p
		})
	}
	repoClaim("package-json-repository-missing", "repository-missing", `{"name":"octo-pkg","version":"`+corpusVersion+`"}`)
	repoClaim("package-json-repository-different", "repository-url",
		`{"name":"octo-pkg","version":"`+corpusVersion+`","repository":"https://github.com/octo-org/evil-fork"}`)
	policyCase := func(name, check string, edit func(*oidc.JobSpec)) {
		bundleCase("identity", name, check, func(t *testing.T) *publish {
			spec := s.job()
			edit(&spec)
			return c.signed(t, spec, s.statementFor(t, spec, c.name, corpusVersion, c.good.tarball), signOptions{})
		})
	}
	policyCase("commit-absent", "commit-exists", func(j *oidc.JobSpec) { j.SHA = hex.EncodeToString([]byte("commit not in repo!!")) })
	policyCase("runner-self-hosted", "runner-environment", func(j *oidc.JobSpec) { j.RunnerEnvironment = "self-hosted" })
	policyCase("repository-private", "repository-visibility", func(j *oidc.JobSpec) { j.Visibility = "private" })
	bundleCase("identity", "not-the-trusted-publisher", "trusted-publisher", func(t *testing.T) *publish {
		tgz := goodTarball(t, packageJSON("guarded-pkg", corpusVersion))
		p := newPublish("guarded-pkg", corpusVersion, tgz, s.provenanceBundle(t, s.job(), "guarded-pkg", corpusVersion, tgz))
		return p
	})

	// --- protocol ---
	add("protocol", "version-exists-same-bytes", http.StatusForbidden, []string{"cannot publish over", "1.0.0"}, func(t *testing.T) request {
		return c.put(t, c.published)
	})
	add("protocol", "version-exists-different-bytes", http.StatusForbidden, []string{"cannot publish over", "1.0.0"}, func(t *testing.T) request {
		tgz := gz(t, makeTar(t, reqTar(tarEntry{name: "package/package.json", body: packageJSON(c.name, "1.0.0")}, tarEntry{name: "package/index.js", body: "evil()\n"})))
		return c.put(t, newPublish(c.name, "1.0.0", tgz, nil))
	})
	badVersion := func(v string) {
		add("protocol", "invalid-semver-"+v, unprocessable, []string{"invalid version|does not match pattern", v}, func(t *testing.T) request {
			tgz := goodTarball(t, packageJSON(c.name, v))
			return c.put(t, newPublish(c.name, v, tgz, nil))
		})
	}
	for _, v := range []string{"1.0", "v1.0.3", "01.0.3", "1.0.3-", "latest"} {
		badVersion(v)
	}
	badName := func(label, name string, want string, bug string) {
		cs = append(cs, corpusCase{group: "protocol", name: "invalid-name-" + label, status: badRequest, want: []string{"invalid package name", want}, bug: bug,
			build: func(t *testing.T) request {
				tgz := goodTarball(t, packageJSON(name, corpusVersion))
				p := newPublish(name, corpusVersion, tgz, nil)
				return request{method: http.MethodPut, path: "/" + escapePath(name), token: c.alice, body: p.body(t)}
			}})
	}
	badName("uppercase", "Octo-Pkg", "lowercase", "")
	badName("space", "octo pkg", "URL-safe", "")
	badName("non-ascii", "octö-pkg", "URL-safe", "")
	badName("leading-dot", ".octo-pkg", "cannot start with", "")
	badName("leading-underscore", "_octo-pkg", "cannot start with", "")
	badName("too-long", strings.Repeat("a", limits.MaxPackageNameLength+1), "longer than", "")
	badName("bad-scope", "@/octo-pkg", "scope", "")
	badName("colon", "octo:pkg", "URL-safe", "")
	badName("reserved-node-modules", "node_modules", "node_modules", "")
	badName("reserved-favicon", "favicon.ico", "favicon.ico", "")
	badName("reserved-route", "badge", "badge", "")
	badName("special-characters", "octo~pkg", "special characters", "")
	badName("core-module", "http", "core module", "")
	add("protocol", "oversized-body", http.StatusRequestEntityTooLarge, []string{""}, func(t *testing.T) request {
		n := int64(limits.MaxPublishBodyBytes + 1)
		return request{method: http.MethodPut, path: c.good.path(), token: c.alice, stream: io.LimitReader(zeroReader{}, n), streamSize: n}
	})
	add("protocol", "two-tgz-attachments", unprocessable, []string{shape, "unexpected attachment|/_attachments: maxProperties"}, func(t *testing.T) request {
		p := c.good.clone()
		p.attachments = p.defaultAttachments()
		p.attachments["evil-6.6.6.tgz"] = p.attachments[npmwire.TarballAttachmentName(c.name, corpusVersion)]
		return c.put(t, p)
	})
	add("protocol", "two-bundle-attachments", unprocessable, []string{shape, "unexpected attachment|/_attachments: maxProperties"}, func(t *testing.T) request {
		p := c.good.clone()
		p.attachments = p.defaultAttachments()
		p.attachments["evil-6.6.6.sigstore"] = p.attachments[npmwire.BundleAttachmentName(c.name, corpusVersion)]
		return c.put(t, p)
	})
	add("protocol", "no-tarball-attachment", unprocessable, []string{shape, "missing tarball attachment"}, func(t *testing.T) request {
		p := c.good.clone()
		p.attachments = p.defaultAttachments()
		delete(p.attachments, npmwire.TarballAttachmentName(c.name, corpusVersion))
		return c.put(t, p)
	})
	add("protocol", "body-name-differs-from-url", unprocessable, []string{shape, "differs from the URL"}, func(t *testing.T) request {
		r := c.put(t, c.good)
		r.path = "/other-pkg"
		return r
	})
	add("protocol", "two-versions", unprocessable, []string{shape, "exactly one version|/versions: maxProperties"}, func(t *testing.T) request {
		var body map[string]any
		json.Unmarshal(c.good.body(t), &body)
		vs := body["versions"].(map[string]any)
		vs["1.0.9"] = vs[corpusVersion]
		b, _ := json.Marshal(body)
		return request{method: http.MethodPut, path: c.good.path(), token: c.alice, body: b}
	})
	add("protocol", "no-auth", http.StatusUnauthorized, []string{"logged in"}, func(t *testing.T) request {
		r := c.put(t, c.good)
		r.token = ""
		return r
	})
	add("protocol", "invalid-token", http.StatusUnauthorized, []string{"invalid token"}, func(t *testing.T) request {
		r := c.put(t, c.good)
		r.token = "npm_prov_" + strings.Repeat("A", 32)
		return r
	})
	add("protocol", "token-of-another-user", http.StatusForbidden, []string{"not a maintainer"}, func(t *testing.T) request {
		r := c.put(t, c.good)
		r.token = c.bob
		return r
	})
	add("protocol", "publish-dist-tag-to-other-version", unprocessable, []string{shape, "dist-tags"}, func(t *testing.T) request {
		var body map[string]any
		json.Unmarshal(c.good.body(t), &body)
		body["dist-tags"] = map[string]string{"latest": "9.9.9"}
		b, _ := json.Marshal(body)
		return request{method: http.MethodPut, path: c.good.path(), token: c.alice, body: b}
	})
	add("protocol", "dist-tag-add-missing-version", http.StatusNotFound, []string{"9.9.9"}, func(t *testing.T) request {
		return request{method: http.MethodPut, path: "/-/package/octo-pkg/dist-tags/beta", token: c.alice, body: []byte(`"9.9.9"`)}
	})
	add("protocol", "dist-tag-add-by-another-user", http.StatusForbidden, []string{"not a maintainer"}, func(t *testing.T) request {
		return request{method: http.MethodPut, path: "/-/package/octo-pkg/dist-tags/beta", token: c.bob, body: []byte(`"1.0.0"`)}
	})
	add("protocol", "dist-tag-looks-like-version", badRequest, []string{"looks like a version"}, func(t *testing.T) request {
		return request{method: http.MethodPut, path: "/-/package/octo-pkg/dist-tags/1.2.3", token: c.alice, body: []byte(`"1.0.0"`)}
	})
	add("protocol", "bundle-over-limit", http.StatusRequestEntityTooLarge, []string{"bundle attachment exceeds"}, func(t *testing.T) request {
		big := `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","pad":"` + strings.Repeat("x", limits.MaxBundleBytes) + `"}`
		return c.put(t, c.withBundle([]byte(big)))
	})
	return cs
}

// escapePath escapes a package name for a URL path the way npm does for
// the name's characters, keeping a scope's slash escaped.
func escapePath(name string) string {
	var b strings.Builder
	for _, r := range []byte(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.IndexByte("-._~@", r) >= 0:
			b.WriteByte(r)
		default:
			fmt.Fprintf(&b, "%%%02X", r)
		}
	}
	return b.String()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bomb is a gzip tarball whose one file decompresses to size zero bytes.
func bomb(t testing.TB, pj string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj))})
	tw.Write([]byte(pj))
	tw.WriteHeader(&tar.Header{Name: "package/zeros.bin", Mode: 0o644, Size: size})
	if _, err := io.Copy(tw, io.LimitReader(zeroReader{}, size)); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// manyEntries is a gzip tarball with package.json and n-1 empty files.
func manyEntries(t testing.TB, pj string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj))})
	tw.Write([]byte(pj))
	for i := 1; i < n; i++ {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("package/f/%d.js", i), Mode: 0o644})
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func unmarshalBundle(t testing.TB, raw []byte, into *protobundle.Bundle) {
	t.Helper()
	if err := protojson.Unmarshal(raw, into); err != nil {
		t.Fatal(err)
	}
}
