// Package gitforge serves a directory of bare git repositories over git's
// smart HTTP protocol, by running the real `git http-backend` as a CGI
// program. The tests of the registry's commit check and the dev stack use it
// as a stand-in for a forge such as GitHub: a repository URL like
// https://github.com/owner/repo is rewritten to <forge>/owner/repo.git and
// fetched with any git client.
//
// # Layout
//
// A repository named "owner/repo" lives in <root>/owner/repo.git, a bare
// repository. Every repository under root is exported (GIT_HTTP_EXPORT_ALL)
// and read-only: receive-pack is disabled. upload-pack allows a client to
// want any object by its id (uploadpack.allowAnySHA1InWant) and to filter
// objects (uploadpack.allowFilter), so that a client can ask for one commit
// without its tree, which is how the registry's commit check asks "does this
// commit exist?".
package gitforge

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// New returns an http.Handler serving the bare repositories under root with
// `git http-backend`. It panics if git is not installed, since nothing can be
// served then; call [Available] first where git may be missing.
func New(root string) http.Handler {
	git, err := exec.LookPath("git")
	if err != nil {
		panic("gitforge: git not found in PATH: " + err.Error())
	}
	return &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// Configuration passed through the environment applies to
			// every repository without touching their config files.
			"GIT_CONFIG_COUNT=4",
			"GIT_CONFIG_KEY_0=uploadpack.allowAnySHA1InWant",
			"GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=uploadpack.allowFilter",
			"GIT_CONFIG_VALUE_1=true",
			"GIT_CONFIG_KEY_2=http.receivepack",
			"GIT_CONFIG_VALUE_2=false",
			"GIT_CONFIG_KEY_3=safe.directory",
			"GIT_CONFIG_VALUE_3=*",
		},
		InheritEnv: []string{"PATH", "HOME"},
		Stderr:     stderrLog{},
	}
}

// stderrLog logs what git http-backend writes to stderr ("not our ref",
// "not a git repository") at debug level: refusals are answers, not faults.
type stderrLog struct{}

func (stderrLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		if line != "" {
			slog.Debug("gitforge: git http-backend", slog.String("stderr", line))
		}
	}
	return len(p), nil
}

// Available reports whether git is installed, so tests can skip cleanly.
func Available() error {
	_, err := exec.LookPath("git")
	return err
}

// A Commit describes one commit made by [CreateRepo] or [AddCommit].
type Commit struct {
	// SHA is the full commit id in lowercase hex.
	SHA string
	// Ref is the branch the commit was made on, e.g. refs/heads/main.
	Ref string
}

// CreateRepo creates the bare repository root/name.git (name is "owner/repo")
// with one commit on refs/heads/main holding files, and returns that commit.
// It uses the real git CLI, with a fixed author and committer so that runs
// are reproducible apart from the timestamp.
func CreateRepo(root, name string, files map[string]string) (Commit, error) {
	if err := checkName(name); err != nil {
		return Commit{}, err
	}
	bare := filepath.Join(root, filepath.FromSlash(name)+".git")
	if _, err := os.Stat(bare); err == nil {
		return Commit{}, fmt.Errorf("gitforge: repository %s already exists", name)
	}
	if err := os.MkdirAll(bare, 0o755); err != nil {
		return Commit{}, err
	}
	if _, err := run(bare, "init", "--bare", "--quiet", "--initial-branch=main"); err != nil {
		return Commit{}, err
	}
	return AddCommit(root, name, "main", "initial commit", files)
}

// AddCommit adds a commit holding files on top of branch (created if absent)
// in the bare repository root/name.git, and returns it. It builds the commit
// with plumbing commands (hash-object, mktree, commit-tree, update-ref), so no
// work tree is needed.
func AddCommit(root, name, branch, message string, files map[string]string) (Commit, error) {
	if err := checkName(name); err != nil {
		return Commit{}, err
	}
	bare := filepath.Join(root, filepath.FromSlash(name)+".git")
	var tree strings.Builder
	for path, content := range files {
		if strings.ContainsAny(path, "/\t\n") || path == "" {
			return Commit{}, fmt.Errorf("gitforge: file name %q must be a plain name", path)
		}
		blob, err := runInput(bare, content, "hash-object", "-w", "--stdin")
		if err != nil {
			return Commit{}, err
		}
		fmt.Fprintf(&tree, "100644 blob %s\t%s\n", blob, path)
	}
	treeID, err := runInput(bare, tree.String(), "mktree")
	if err != nil {
		return Commit{}, err
	}
	ref := "refs/heads/" + branch
	args := []string{"commit-tree", treeID, "-m", message}
	if parent, err := run(bare, "rev-parse", "--verify", "--quiet", ref); err == nil && parent != "" {
		args = append(args, "-p", parent)
	}
	sha, err := run(bare, args...)
	if err != nil {
		return Commit{}, err
	}
	if _, err := run(bare, "update-ref", ref, sha); err != nil {
		return Commit{}, err
	}
	return Commit{SHA: sha, Ref: ref}, nil
}

func checkName(name string) error {
	parts := strings.Split(name, "/")
	if len(parts) != 2 {
		return fmt.Errorf("gitforge: repository name %q must be owner/repo", name)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.HasPrefix(p, ".") {
			return fmt.Errorf("gitforge: repository name %q has a bad segment %q", name, p)
		}
	}
	return nil
}

func run(dir string, args ...string) (string, error) { return runInput(dir, "", args...) }

func runInput(dir, input string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(input)
	date := time.Now().UTC().Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Provenant Test", "GIT_AUTHOR_EMAIL=test@provenant.invalid", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Provenant Test", "GIT_COMMITTER_EMAIL=test@provenant.invalid", "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(args) > 0 && args[0] == "rev-parse" {
			return "", err
		}
		return "", fmt.Errorf("gitforge: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
