package pack

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Names of the synthetic rule sets npm-packlist injects, next to the real
// ignore file names.
const (
	rulesDefault = "\x00default"
	rulesStrict  = "\x00strict"
	rulesPackage = "package.json"
	npmignore    = ".npmignore"
	gitignore    = ".gitignore"
)

// defaultIgnores are npm-packlist's rules applied in every directory.
var defaultIgnores = []string{
	".npmignore",
	".gitignore",
	"**/.git",
	"**/.svn",
	"**/.hg",
	"**/CVS",
	"**/.git/**",
	"**/.svn/**",
	"**/.hg/**",
	"**/CVS/**",
	"/.lock-wscript",
	"/.wafpickle-*",
	"/build/config.gypi",
	"npm-debug.log",
	"**/.npmrc",
	".*.swp",
	".DS_Store",
	"**/.DS_Store/**",
	"._*",
	"**/._*/**",
	"*.orig",
	"/archived-packages/**",
}

// strictDefaults are forcibly excluded, whatever the package says.
var strictDefaults = []string{"/.git"}

// A walker lists one directory the way ignore-walk's Walker, as extended
// by npm-packlist's PackWalker, does: each directory applies its own
// ignore files on top of its ancestors' verdicts.
type walker struct {
	root    string // absolute path of the package root
	dir     string // absolute path of this directory
	base    string // basename of dir
	parent  *walker
	exact   bool
	names   []string           // rule set names in evaluation order
	rules   map[string][]*rule // rule set name → compiled rules; nil slice = dropped
	present map[string]bool    // which rule sets were loaded
	result  *[]string
	// required holds the files named in "files" (root walker only): they
	// are included even when an ignore rule would exclude them.
	required []string
}

func newWalker(root, dir string, parent *walker, names []string, exact bool, result *[]string) *walker {
	w := &walker{root: root, dir: dir, base: filepath.Base(dir), parent: parent, exact: exact, names: names,
		rules: map[string][]*rule{}, present: map[string]bool{}, result: result}
	w.inject(rulesDefault, defaultIgnores)
	return w
}

func (w *walker) inject(name string, lines []string) {
	w.rules[name] = parseIgnore(strings.Join(lines, "\n") + "\n")
	w.present[name] = true
}

// parseIgnore compiles the non-empty, non-comment lines of an ignore file.
func parseIgnore(data string) []*rule {
	var rules []*rule
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		rules = append(rules, compileRule(t))
	}
	return rules
}

// walk reads the directory, loads its ignore files, filters its entries
// and descends into the directories that pass.
func (w *walker) walk() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	for _, n := range names {
		if (n == npmignore || n == gitignore) && w.wants(n) {
			data, err := os.ReadFile(filepath.Join(w.dir, n))
			if err != nil {
				return err
			}
			w.rules[n] = parseIgnore(string(data))
			w.present[n] = true
		}
	}
	// Precedence: package.json "files" drops .npmignore and .gitignore;
	// .npmignore drops .gitignore.
	if w.present[rulesPackage] {
		delete(w.present, npmignore)
		delete(w.present, gitignore)
	} else if w.present[npmignore] {
		delete(w.present, gitignore)
	}
	for _, n := range names {
		passFile := w.filter(n, false, "")
		passDir := w.filter(n, true, "")
		if !passFile && !passDir {
			continue
		}
		if strings.Contains(n, "*") { // npm refuses names that are bad on Windows
			continue
		}
		abs := filepath.Join(w.dir, n)
		st, err := os.Lstat(abs)
		if err != nil {
			return err
		}
		switch {
		case st.Mode().IsRegular():
			if passFile {
				rel, _ := filepath.Rel(w.root, abs)
				*w.result = append(*w.result, filepath.ToSlash(rel))
			}
		case st.IsDir():
			if !passDir {
				continue
			}
			exact := passFile || w.filter(n+"/", false, "")
			child := newWalker(w.root, abs, w, []string{rulesDefault, npmignore, gitignore, rulesStrict}, exact, w.result)
			child.inject(rulesStrict, append(append([]string{}, strictDefaults...), w.childRequired(n)...))
			if err := child.walk(); err != nil {
				return err
			}
		}
		// Symlinks and other non-regular files are never packed.
	}
	return nil
}

// required lists, for the root walker, the files named in "files" that
// must be included; childRequired passes the direct children on.
func (w *walker) childRequired(entry string) []string {
	var out []string
	for _, f := range w.required {
		if path.Dir(f) == entry {
			out = append(out, "!"+path.Base(f))
		}
	}
	return out
}

func (w *walker) wants(name string) bool {
	for _, n := range w.names {
		if n == name {
			return true
		}
	}
	return false
}

// filter reports whether entry (relative to this directory) is included,
// in file mode or, with partial, in directory mode.
func (w *walker) filter(entry string, partial bool, entryBase string) bool {
	included := true
	if w.parent != nil {
		b := entryBase
		if b == "" {
			b = entry
		}
		included = w.parent.filter(w.base+"/"+entry, partial, b)
		if !included && !w.exact {
			return false
		}
	}
	for _, name := range w.names {
		if !w.present[name] {
			continue
		}
		for _, r := range w.rules[name] {
			if r.negate == included {
				continue
			}
			rel := entryBase != "" && r.relative()
			m := r.match("/"+entry, false) || r.match(entry, false) ||
				partial && (r.match("/"+entry+"/", false) || r.match(entry+"/", false) ||
					r.negate && (r.match("/"+entry, true) || r.match(entry, true)) ||
					rel && (r.match("/"+entryBase+"/", false) || r.match(entryBase+"/", false) ||
						r.negate && (r.match("/"+entryBase, true) || r.match(entryBase, true))))
			if m {
				included = r.negate
			}
		}
	}
	return included
}

// listFiles returns the package-relative paths npm would pack from dir,
// in npm-packlist's order.
func listFiles(dir string, m *manifest) ([]string, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var result []string
	w := newWalker(root, root, nil, []string{rulesDefault, rulesPackage, npmignore, gitignore, rulesStrict}, false, &result)
	if err := w.processPackage(m); err != nil {
		return nil, err
	}
	if err := w.walk(); err != nil {
		return nil, err
	}
	sort.SliceStable(result, func(i, j int) bool { return packlistLess(result[i], result[j]) })
	return result, nil
}

// processPackage turns package.json's files, main, browser and bin into
// rule sets, as npm-packlist's processPackage does.
func (w *walker) processPackage(m *manifest) error {
	strict := append([]string{}, strictDefaults...)
	strict = append(strict,
		"!/package.json",
		"!/readme{,.*[^~$]}",
		"!/copying{,.*[^~$]}",
		"!/license{,.*[^~$]}",
		"!/licence{,.*[^~$]}",
		"/.git",
		"/node_modules",
		".npmrc",
		"/package-lock.json",
		"/yarn.lock",
		"/pnpm-lock.yaml",
		"/bun.lockb",
	)
	if m.Files != nil {
		ignores := []string{"*"}
		for _, f := range m.Files {
			if strings.HasPrefix(f, "./") {
				f = f[1:]
			}
			if strings.HasSuffix(f, "/*") {
				f += "*"
			}
			inverse := "!" + f
			st, err := os.Lstat(filepath.Join(w.dir, filepath.FromSlash(strings.TrimLeft(f, "!"))))
			switch {
			case err != nil:
				if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrInvalid) && !isNotDir(err) {
					return fmt.Errorf("files entry %q: %w", f, err)
				}
				ignores = append(ignores, inverse)
			case st.Mode().IsRegular():
				strict = append([]string{inverse}, strict...)
				w.required = append(w.required, strings.TrimPrefix(f, "/"))
			case st.IsDir():
				ignores = append(ignores, inverse, inverse+"/**")
			}
		}
		w.inject(rulesPackage, ignores)
	}
	if m.Browser != "" {
		strict = append(strict, "!/"+m.Browser)
	}
	if m.Main != "" {
		strict = append(strict, "!/"+m.Main)
	}
	for _, b := range m.binPaths() {
		strict = append(strict, "!/"+b)
	}
	w.inject(rulesStrict, strict)
	return nil
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}
