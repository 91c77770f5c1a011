package publisher

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// gitHead returns the commit checked out in the git work tree holding
// dir, as npm records it in "gitHead": .git/HEAD, resolved through a loose
// ref or packed-refs. It returns "" outside a repository or on any doubt.
func gitHead(dir string) string {
	d, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		gd := filepath.Join(d, ".git")
		if st, err := os.Stat(gd); err == nil {
			if !st.IsDir() { // a worktree or submodule: "gitdir: <path>"
				b, err := os.ReadFile(gd)
				if err != nil || !bytes.HasPrefix(b, []byte("gitdir: ")) {
					return ""
				}
				gd = strings.TrimSpace(string(b[len("gitdir: "):]))
				if !filepath.IsAbs(gd) {
					gd = filepath.Join(d, gd)
				}
			}
			return resolveHead(gd)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

func resolveHead(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil {
		return ""
	}
	head := strings.TrimSpace(string(b))
	if shaRE.MatchString(head) {
		return head
	}
	ref, ok := strings.CutPrefix(head, "ref: ")
	if !ok || strings.Contains(ref, "..") {
		return ""
	}
	if b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(ref))); err == nil {
		if sha := strings.TrimSpace(string(b)); shaRE.MatchString(sha) {
			return sha
		}
	}
	// A worktree keeps refs in the common directory.
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = filepath.Join(gitDir, strings.TrimSpace(string(b)))
		if b, err := os.ReadFile(filepath.Join(common, filepath.FromSlash(ref))); err == nil {
			if sha := strings.TrimSpace(string(b)); shaRE.MatchString(sha) {
				return sha
			}
		}
	}
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref && shaRE.MatchString(sha) {
			return sha
		}
	}
	return ""
}
