// Package storetest is the conformance suite every store.Store backend
// runs: a backend's test is one line,
//
//	func TestConformance(t *testing.T) { storetest.Run(t, func(t *testing.T) store.Store { … }) }
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/provenant/provenant/registry/store"
)

// Run runs the conformance suite. newStore returns an empty store that
// the suite closes when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"PublishAndRead", testPublishAndRead},
		{"NotFound", testNotFound},
		{"Immutable", testImmutable},
		{"Owners", testOwners},
		{"SetOwners", testSetOwners},
		{"DistTags", testDistTags},
		{"Deprecate", testDeprecate},
		{"Unpublish", testUnpublish},
		{"UnpublishPackage", testUnpublishPackage},
		{"RecentAndSearch", testRecentAndSearch},
		{"UsersAndTokens", testUsersAndTokens},
		{"Sweep", testSweep},
		{"ConcurrentPublish", testConcurrentPublish},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// Pub builds a publication of name@version whose tarball bytes are unique
// to it, tagged latest.
func Pub(name, version string) store.Publication {
	tarball := []byte("tarball of " + name + "@" + version)
	manifest, _ := json.Marshal(map[string]any{"name": name, "version": version, "_id": name + "@" + version})
	return store.Publication{
		Version: store.Version{
			Name: name, Version: version, Manifest: manifest,
			SHA512: "sha512-" + version, SHA1: "sha1-" + version, Size: int64(len(tarball)),
			Published: time.Now().UTC().Truncate(time.Millisecond),
		},
		Tarball:     tarball,
		Tags:        map[string]string{"latest": version},
		Description: "the " + name + " package",
		Keywords:    []string{"kw-" + name},
	}
}

func mustPublish(t *testing.T, s store.Store, user string, p store.Publication) {
	t.Helper()
	if err := s.Publish(context.Background(), user, p); err != nil {
		t.Fatalf("Publish(%s@%s): %v", p.Version.Name, p.Version.Version, err)
	}
}

func mustPackage(t *testing.T, s store.Store, name string) *store.Package {
	t.Helper()
	p, err := s.Package(context.Background(), name)
	if err != nil {
		t.Fatalf("Package(%s): %v", name, err)
	}
	return p
}

func readBlob(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	r, size, err := s.OpenBlob(context.Background(), key)
	if err != nil {
		t.Fatalf("OpenBlob(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != size {
		t.Fatalf("OpenBlob size %d, read %d", size, len(b))
	}
	return b
}

func testPublishAndRead(t *testing.T, s store.Store) {
	p := Pub("@scope/pkg", "1.0.0")
	p.Bundle = []byte(`{"mediaType":"bundle"}`)
	p.Version.Provenance = json.RawMessage(`{"provenance":true}`)
	p.Version.PublishAttestation = json.RawMessage(`{"att":1}`)
	mustPublish(t, s, "alice", p)
	got := mustPackage(t, s, "@scope/pkg")
	if len(got.Versions) != 1 || got.DistTags["latest"] != "1.0.0" || len(got.Owners) != 1 || got.Owners[0] != "alice" {
		t.Fatalf("package = %+v", got)
	}
	v := got.Versions[0]
	if v.Version != "1.0.0" || v.SHA512 != "sha512-1.0.0" || v.SHA1 != "sha1-1.0.0" || v.Size != int64(len(p.Tarball)) || v.Publisher != "alice" {
		t.Errorf("version = %+v", v)
	}
	if !v.Published.Equal(p.Version.Published) {
		t.Errorf("Published = %v, want %v", v.Published, p.Version.Published)
	}
	for name, pair := range map[string][2][]byte{
		"manifest":    {v.Manifest, p.Version.Manifest},
		"provenance":  {v.Provenance, p.Version.Provenance},
		"attestation": {v.PublishAttestation, p.Version.PublishAttestation},
	} {
		if !bytes.Equal(pair[0], pair[1]) {
			t.Errorf("%s = %s, want %s", name, pair[0], pair[1])
		}
	}
	if v.TarballKey != store.BlobKey(p.Tarball) || v.BundleKey != store.BlobKey(p.Bundle) {
		t.Errorf("keys = %q %q, want content addresses", v.TarballKey, v.BundleKey)
	}
	if b := readBlob(t, s, v.TarballKey); !bytes.Equal(b, p.Tarball) {
		t.Errorf("tarball = %q", b)
	}
	if b := readBlob(t, s, v.BundleKey); !bytes.Equal(b, p.Bundle) {
		t.Errorf("bundle = %q", b)
	}
	mustPublish(t, s, "alice", Pub("@scope/pkg", "1.1.0"))
	got2 := mustPackage(t, s, "@scope/pkg")
	if len(got2.Versions) != 2 || got2.Versions[1].Version != "1.1.0" || got2.DistTags["latest"] != "1.1.0" {
		t.Errorf("after second publish: %+v", got2)
	}
	if got2.Rev == got.Rev {
		t.Errorf("Rev did not change on write: %d", got2.Rev)
	}
	if got2.Versions[0].BundleKey == "" || got2.Versions[1].BundleKey != "" {
		t.Errorf("bundle keys = %q %q", got2.Versions[0].BundleKey, got2.Versions[1].BundleKey)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	checks := map[string]error{}
	_, checks["Package"] = s.Package(ctx, "missing")
	_, _, checks["OpenBlob"] = s.OpenBlob(ctx, store.BlobKey([]byte("nothing")))
	checks["SetDistTag missing package"] = s.SetDistTag(ctx, "missing", "beta", "1.0.0")
	checks["SetDistTag missing version"] = s.SetDistTag(ctx, "a", "beta", "9.9.9")
	checks["DeleteDistTag"] = s.DeleteDistTag(ctx, "a", "nope")
	checks["Deprecate"] = s.Deprecate(ctx, "a", map[string]string{"9.9.9": "x"})
	checks["Unpublish"] = s.Unpublish(ctx, "a", "9.9.9")
	checks["UnpublishPackage"] = s.UnpublishPackage(ctx, "missing")
	_, checks["User"] = s.User(ctx, "nobody")
	_, checks["TokenByHash"] = s.TokenByHash(ctx, "ff")
	checks["DeleteToken"] = s.DeleteToken(ctx, "alice", "nokey")
	for name, err := range checks {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	// Failed writes change nothing.
	if p := mustPackage(t, s, "a"); p.DistTags["beta"] != "" || p.Versions[0].Deprecated != "" {
		t.Errorf("failed write changed state: %+v", p)
	}
}

func testImmutable(t *testing.T, s store.Store) {
	p := Pub("a", "1.0.0")
	mustPublish(t, s, "alice", p)
	other := Pub("a", "1.0.0")
	other.Tarball = []byte("different bytes")
	if err := s.Publish(context.Background(), "alice", other); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("republish: err = %v, want ErrConflict", err)
	}
	v := mustPackage(t, s, "a").Versions[0]
	if b := readBlob(t, s, v.TarballKey); !bytes.Equal(b, p.Tarball) {
		t.Errorf("tarball changed to %q", b)
	}
}

func testOwners(t *testing.T, s store.Store) {
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	if err := s.Publish(context.Background(), "mallory", Pub("a", "2.0.0")); !errors.Is(err, store.ErrPermission) {
		t.Fatalf("publish by non-owner: err = %v, want ErrPermission", err)
	}
	p := mustPackage(t, s, "a")
	if len(p.Versions) != 1 || p.DistTags["latest"] != "1.0.0" {
		t.Errorf("rejected publish changed state: %+v", p)
	}
}

func testSetOwners(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		if err := s.CreateUser(ctx, store.User{Name: u, PasswordHash: "x", Email: u + "@example.com", Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	rev := mustPackage(t, s, "a").Rev
	if err := s.SetOwners(ctx, "a", "alice", []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, s, "a")
	if !slices.Equal(p.Owners, []string{"alice", "bob"}) || p.Rev <= rev {
		t.Fatalf("owners %v rev %d (was %d), want [alice bob] and a new revision", p.Owners, p.Rev, rev)
	}
	if p.OwnerEmails["bob"] != "bob@example.com" {
		t.Errorf("owner emails = %v", p.OwnerEmails)
	}
	// bob, now an owner, may publish and may remove alice.
	mustPublish(t, s, "bob", Pub("a", "1.1.0"))
	if err := s.SetOwners(ctx, "a", "bob", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, actor string
		owners      []string
		want        error
	}{
		{"not an owner", "alice", []string{"alice"}, store.ErrPermission},
		{"no owners left", "bob", nil, store.ErrConflict},
		{"unknown user", "bob", []string{"bob", "nobody"}, store.ErrNotFound},
	}
	for _, tt := range bad {
		if err := s.SetOwners(ctx, "a", tt.actor, tt.owners); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := s.SetOwners(ctx, "missing", "bob", []string{"bob"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing package: err = %v, want ErrNotFound", err)
	}
	if p := mustPackage(t, s, "a"); !slices.Equal(p.Owners, []string{"bob"}) {
		t.Errorf("rejected changes altered owners: %v", p.Owners)
	}
}

func testDistTags(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	mustPublish(t, s, "alice", Pub("a", "2.0.0-beta.1"))
	if err := s.SetDistTag(ctx, "a", "latest", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDistTag(ctx, "a", "beta", "2.0.0-beta.1"); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, s, "a")
	if p.DistTags["latest"] != "1.0.0" || p.DistTags["beta"] != "2.0.0-beta.1" {
		t.Fatalf("tags = %v", p.DistTags)
	}
	if err := s.DeleteDistTag(ctx, "a", "beta"); err != nil {
		t.Fatal(err)
	}
	if p := mustPackage(t, s, "a"); len(p.DistTags) != 1 {
		t.Errorf("tags after delete = %v", p.DistTags)
	}
}

func testDeprecate(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	mustPublish(t, s, "alice", Pub("a", "1.1.0"))
	if err := s.Deprecate(ctx, "a", map[string]string{"1.0.0": "use 1.1.0"}); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, s, "a")
	if p.Versions[0].Deprecated != "use 1.1.0" || p.Versions[1].Deprecated != "" {
		t.Fatalf("deprecated = %q %q", p.Versions[0].Deprecated, p.Versions[1].Deprecated)
	}
	if err := s.Deprecate(ctx, "a", map[string]string{"1.0.0": ""}); err != nil {
		t.Fatal(err)
	}
	if p := mustPackage(t, s, "a"); p.Versions[0].Deprecated != "" {
		t.Errorf("undeprecate left %q", p.Versions[0].Deprecated)
	}
}

func testUnpublish(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	mustPublish(t, s, "alice", Pub("a", "1.1.0"))
	if err := s.Unpublish(ctx, "a", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, s, "a")
	if len(p.Versions) != 1 || p.Versions[0].Version != "1.0.0" {
		t.Fatalf("versions = %+v", p.Versions)
	}
	if _, ok := p.Unpublished["1.1.0"]; !ok {
		t.Errorf("unpublish not recorded: %v", p.Unpublished)
	}
	if _, ok := p.DistTags["latest"]; ok {
		t.Errorf("latest still points at the unpublished version: %v", p.DistTags)
	}
	if err := s.Publish(ctx, "alice", Pub("a", "1.1.0")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("re-publish of unpublished version: err = %v, want ErrConflict", err)
	}
}

func testUnpublishPackage(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPublish(t, s, "alice", Pub("a", "1.0.0"))
	mustPublish(t, s, "alice", Pub("a", "2.0.0"))
	if err := s.UnpublishPackage(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, s, "a")
	if len(p.Versions) != 0 || len(p.DistTags) != 0 || len(p.Unpublished) != 2 {
		t.Fatalf("after full unpublish: %+v", p)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if err := s.Publish(ctx, "alice", Pub("a", v)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("re-publish %s: err = %v, want ErrConflict", v, err)
		}
	}
	if err := s.Publish(ctx, "mallory", Pub("a", "3.0.0")); !errors.Is(err, store.ErrPermission) {
		t.Errorf("publish by non-owner after unpublish: err = %v, want ErrPermission", err)
	}
	mustPublish(t, s, "alice", Pub("a", "3.0.0"))
}

func testRecentAndSearch(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []string{"left-pad", "right-pad", "@x/pad-util", "unrelated"} {
		mustPublish(t, s, "alice", Pub(n, "1.0.0"))
		time.Sleep(2 * time.Millisecond) // distinct modification times
	}
	recent, err := s.Recent(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != 2 || recent[0].Name != "unrelated" || recent[0].Latest != "1.0.0" || recent[0].Publisher != "alice" {
		t.Fatalf("Recent = %+v", recent)
	}
	tests := []struct {
		text  string
		total int
		first string
	}{
		{"pad", 3, ""},
		{"left-pad", 1, "left-pad"},
		{"PAD util", 1, "@x/pad-util"},
		{"kw-right-pad", 1, "right-pad"},
		{"the unrelated package", 1, "unrelated"},
		{"100%_", 0, ""},
	}
	for _, tt := range tests {
		got, total, err := s.Search(ctx, tt.text, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if total != tt.total || len(got) != tt.total || (tt.first != "" && got[0].Name != tt.first) {
			t.Errorf("Search(%q) = %d %+v, want %d first %q", tt.text, total, got, tt.total, tt.first)
		}
	}
	page, total, err := s.Search(ctx, "pad", 2, 2)
	if err != nil || total != 3 || len(page) != 1 {
		t.Errorf("Search page = %d %+v %v", total, page, err)
	}
}

func testUsersAndTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := store.User{Name: "alice", PasswordHash: "h", Email: "a@example.com", Created: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate user: err = %v, want ErrConflict", err)
	}
	got, err := s.User(ctx, "alice")
	if err != nil || got.PasswordHash != "h" || got.Email != u.Email || !got.Created.Equal(u.Created) {
		t.Fatalf("User = %+v, %v", got, err)
	}
	for i := range 3 {
		tok := store.Token{Key: fmt.Sprintf("k%d", i), Hash: fmt.Sprintf("h%d", i), Prefix: "p", User: "alice", ReadOnly: i == 2, Created: u.Created.Add(time.Duration(i) * time.Second)}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.TokenByHash(ctx, "h2")
	if err != nil || tok.Key != "k2" || tok.User != "alice" || !tok.ReadOnly {
		t.Fatalf("TokenByHash = %+v, %v", tok, err)
	}
	if err := s.DeleteToken(ctx, "mallory", "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteToken by another user: err = %v", err)
	}
	if err := s.DeleteToken(ctx, "alice", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "alice", "h0"); err != nil {
		t.Fatal(err)
	}
	list, err := s.Tokens(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Key != "k2" {
		t.Errorf("Tokens = %+v, %v", list, err)
	}
}

func testSweep(t *testing.T, s store.Store) {
	ctx := context.Background()
	keep := Pub("a", "1.0.0")
	keep.Bundle = []byte("bundle")
	mustPublish(t, s, "alice", keep)
	gone := Pub("a", "2.0.0")
	mustPublish(t, s, "alice", gone)
	// A failed publish still wrote its blob first.
	failed := Pub("a", "1.0.0")
	failed.Tarball = []byte("orphan from a failed publish")
	if err := s.Publish(ctx, "alice", failed); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v", err)
	}
	if err := s.Unpublish(ctx, "a", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	// Young blobs survive a sweep with a grace period.
	if n, err := s.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("Sweep(1h) = %d, %v", n, err)
	}
	n, err := s.Sweep(ctx, -time.Second)
	if err != nil || n != 2 {
		t.Fatalf("Sweep(0) = %d, %v; want 2 (unpublished tarball, orphan)", n, err)
	}
	for _, key := range []string{store.BlobKey(gone.Tarball), store.BlobKey(failed.Tarball)} {
		if _, _, err := s.OpenBlob(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("blob %s survived: %v", key, err)
		}
	}
	v := mustPackage(t, s, "a").Versions[0]
	readBlob(t, s, v.TarballKey)
	readBlob(t, s, v.BundleKey)
}

func testConcurrentPublish(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() { defer wg.Done(); errs[i] = s.Publish(ctx, "alice", Pub("race", "1.0.0")) }()
		go func() {
			defer wg.Done()
			errs[n+i] = s.Publish(ctx, "alice", Pub(fmt.Sprintf("pkg-%d", i), "1.0.0"))
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs[:n] {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("racing publish %d: %v", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racing publishes of the same version succeeded, want 1", ok)
	}
	for i, err := range errs[n:] {
		if err != nil {
			t.Errorf("publish pkg-%d: %v", i, err)
		}
	}
	if p := mustPackage(t, s, "race"); len(p.Versions) != 1 {
		t.Errorf("versions = %d", len(p.Versions))
	}
}
