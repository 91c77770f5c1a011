package publisher

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"context"

	"github.com/provenant/provenant/npmwire"
)

func gunzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPutBodyMatchesNPM publishes the same scoped package with the real
// `npm publish` and with Publish to recording registries and compares the
// two PUT requests: path, top-level fields, attachment names and types,
// dist-tags, access, the version manifest's fields and the uncompressed
// tarball bytes.
func TestPutBodyMatchesNPM(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not on PATH")
	}
	dir := writePackage(t, "@acme/parity", "1.0.0", map[string]string{"bin": `{"parity":"index.js"}`, "keywords": `["a","b"]`})
	// In a git work tree, npm records the commit as gitHead.
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"}} {
		git := exec.Command("git", args...)
		git.Dir = dir
		if out, err := git.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	npmReg := newFakeRegistry(t, testToken)
	u, _ := url.Parse(npmReg.URL())
	home := t.TempDir()
	rc := filepath.Join(home, ".npmrc")
	if err := os.WriteFile(rc, []byte("//"+u.Host+"/:_authToken="+testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "publish", "--ignore-scripts", "--access", "public", "--registry", npmReg.URL())
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "npm_config_userconfig=" + rc,
		"npm_config_cache=" + filepath.Join(home, "cache"), "npm_config_update_notifier=false"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm publish: %v\n%s", err, out)
	}

	ourReg := newFakeRegistry(t, testToken)
	if _, err := Publish(context.Background(), Options{Path: dir, Registry: ourReg.URL(), Access: "public",
		Getenv: envFunc(map[string]string{"NPM_TOKEN": testToken}), Backoff: time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	theirs, ours := npmReg.lastPut(), ourReg.lastPut()
	if theirs.path != ours.path {
		t.Errorf("PUT path: npm %s, ours %s", theirs.path, ours.path)
	}
	if theirs.header.Get("Content-Type") != ours.header.Get("Content-Type") {
		t.Errorf("Content-Type: npm %q, ours %q", theirs.header.Get("Content-Type"), ours.header.Get("Content-Type"))
	}
	var tb, ob map[string]json.RawMessage
	if err := json.Unmarshal(theirs.body, &tb); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ours.body, &ob); err != nil {
		t.Fatal(err)
	}
	if a, b := strings.Join(keys(tb), ","), strings.Join(keys(ob), ","); a != b {
		t.Errorf("top-level fields: npm %s, ours %s", a, b)
	}
	for _, k := range []string{"_id", "name", "dist-tags", "access", "description"} {
		if string(tb[k]) != string(ob[k]) {
			t.Errorf("%s: npm %s, ours %s", k, tb[k], ob[k])
		}
	}
	tp, _ := npmwire.ParsePublishBody(theirs.body)
	op, _ := npmwire.ParsePublishBody(ours.body)
	for name, a := range tp.Attachments {
		b, ok := op.Attachments[name]
		if !ok || a.ContentType != b.ContentType {
			t.Errorf("attachment %s: npm %q, ours %+v", name, a.ContentType, b.ContentType)
		}
	}
	tt, err := tp.Tarball("1.0.0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ot, err := op.Tarball("1.0.0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gunzipBytes(t, tt), gunzipBytes(t, ot)) {
		t.Error("uncompressed tarballs differ")
	}
	_, tv := tp.Version()
	_, ov := op.Version()
	var tvm, ovm map[string]json.RawMessage
	_ = json.Unmarshal(tv, &tvm)
	_ = json.Unmarshal(ov, &ovm)
	// npm also records its own and node's versions, and normalizes bin.
	for _, k := range keys(tvm) {
		switch k {
		case "_nodeVersion", "_npmVersion":
			continue
		}
		if _, ok := ovm[k]; !ok {
			t.Errorf("version manifest: npm sends %q (%s), we do not", k, tvm[k])
		}
	}
	if len(tvm["gitHead"]) == 0 {
		t.Error("npm recorded no gitHead")
	}
	for _, k := range []string{"name", "version", "_id", "readme", "readmeFilename", "keywords", "main", "repository", "gitHead", "homepage", "bugs"} {
		if string(tvm[k]) != string(ovm[k]) {
			t.Errorf("version %s: npm %s, ours %s", k, tvm[k], ovm[k])
		}
	}
	var td, od npmwire.Dist
	_ = json.Unmarshal(tvm["dist"], &td)
	_ = json.Unmarshal(ovm["dist"], &od)
	if strings.Replace(td.Tarball, npmReg.URL(), "", 1) != strings.Replace(od.Tarball, ourReg.URL(), "", 1) {
		t.Errorf("dist.tarball: npm %s, ours %s", td.Tarball, od.Tarball)
	}
}
