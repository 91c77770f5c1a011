package gitforge

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestCloneAndFetchBySHA drives the forge with the real git client: clone,
// fetch of a commit that no ref points at any more, and a refused push.
func TestCloneAndFetchBySHA(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	first, err := CreateRepo(root, "octo-org/octo-pkg", map[string]string{"package.json": `{"name":"octo-pkg"}`})
	if err != nil {
		t.Fatal(err)
	}
	second, err := AddCommit(root, "octo-org/octo-pkg", "main", "second", map[string]string{"README.md": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if first.SHA == second.SHA || len(second.SHA) != 40 || second.Ref != "refs/heads/main" {
		t.Fatalf("unexpected commits %+v %+v", first, second)
	}
	srv := httptest.NewServer(New(root))
	defer srv.Close()

	work := t.TempDir()
	if out, err := gitCLI(t, work, "clone", "--quiet", srv.URL+"/octo-org/octo-pkg.git", "clone"); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	head, err := gitCLI(t, filepath.Join(work, "clone"), "rev-parse", "HEAD")
	if err != nil || head != second.SHA {
		t.Fatalf("HEAD = %q (%v), want %s", head, err, second.SHA)
	}

	// Hide the first commit from every ref: a branch reset leaves it
	// unreachable, yet allowAnySHA1InWant still lets a client fetch it.
	bare := filepath.Join(root, "octo-org", "octo-pkg.git")
	if out, err := gitCLI(t, bare, "update-ref", "refs/heads/other", second.SHA); err != nil {
		t.Fatal(out)
	}
	init := filepath.Join(work, "sha")
	if out, err := gitCLI(t, work, "init", "--quiet", init); err != nil {
		t.Fatal(out)
	}
	if out, err := gitCLI(t, init, "fetch", "--quiet", "--depth=1", srv.URL+"/octo-org/octo-pkg", first.SHA); err != nil {
		t.Fatalf("git fetch by sha (without .git suffix): %v\n%s", err, out)
	}
	if out, err := gitCLI(t, init, "cat-file", "-t", first.SHA); err != nil || out != "commit" {
		t.Fatalf("fetched object type = %q (%v)", out, err)
	}
	missing := strings.Repeat("0", 39) + "1"
	if out, err := gitCLI(t, init, "fetch", "--quiet", srv.URL+"/octo-org/octo-pkg.git", missing); err == nil {
		t.Fatalf("fetch of a missing sha succeeded: %s", out)
	}

	// Read-only: a push is refused.
	clone := filepath.Join(work, "clone")
	if out, err := gitCLI(t, clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "--allow-empty", "-m", "x"); err != nil {
		t.Fatal(out)
	}
	if out, err := gitCLI(t, clone, "push", "--quiet", "origin", "HEAD:refs/heads/main"); err == nil {
		t.Fatalf("push succeeded: %s", out)
	}
}

func TestRepoNames(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	for _, name := range []string{"repo", "a/b/c", "../x", "a/..", "a/.hidden", "/x"} {
		if _, err := CreateRepo(root, name, nil); err == nil {
			t.Errorf("CreateRepo(%q) succeeded", name)
		}
	}
	if _, err := CreateRepo(root, "a/b", map[string]string{"dir/file": "x"}); err == nil {
		t.Error("nested file name accepted")
	}
	if _, err := CreateRepo(root, "o/r", nil); err != nil {
		t.Fatalf("empty repo: %v", err)
	}
	if _, err := CreateRepo(root, "o/r", nil); err == nil {
		t.Error("second CreateRepo of the same name succeeded")
	}
}
