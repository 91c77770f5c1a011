package pack

import (
	"regexp"
	"strings"
)

// A rule is one line of an ignore file (.npmignore, .gitignore, or the
// synthetic rule sets npm-packlist builds from package.json), compiled the
// way ignore-walk compiles it with minimatch: matchBase, dot, nocase and
// flipNegate, brace expansion, "**" segments.
type rule struct {
	// negate is set for rules that begin with an odd number of "!": they
	// re-include what earlier rules excluded.
	negate bool
	// sets holds one segment list per brace alternative.
	sets [][]segment
}

// A segment matches one path component; globstar segments ("**") match
// any number of components.
type segment struct {
	globstar bool
	// empty is set for the empty component left by a leading or trailing
	// slash; it matches only the empty string.
	empty bool
	re    *regexp.Regexp
}

// compileRule parses one trimmed, non-comment ignore line.
func compileRule(line string) *rule {
	r := &rule{}
	for strings.HasPrefix(line, "!") {
		r.negate = !r.negate
		line = line[1:]
	}
	for _, alt := range expandBraces(line) {
		parts := squeeze(strings.Split(alt, "/"))
		segs := make([]segment, 0, len(parts))
		for _, p := range parts {
			if p == "**" {
				if len(segs) > 0 && segs[len(segs)-1].globstar {
					continue
				}
				segs = append(segs, segment{globstar: true})
				continue
			}
			segs = append(segs, segment{empty: p == "", re: segmentRegexp(p)})
		}
		r.sets = append(r.sets, segs)
	}
	return r
}

// squeeze removes empty and "." components that are neither first nor
// last, as minimatch does unless preserveMultipleSlashes is set, so that
// "lib//**" means "lib/**" (a leading "//" is kept).
func squeeze(parts []string) []string {
	out := []string{parts[0]}
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		inner := i < len(parts)-1
		if inner && (p == "." || p == "") && !(i == 1 && p == "" && parts[0] == "") {
			continue
		}
		out = append(out, p)
	}
	return out
}

// segmentRegexp translates one glob path component into an anchored,
// case-insensitive regular expression. Invalid UTF-8 is matched as the
// replacement character, as JavaScript strings would hold it.
func segmentRegexp(p string) *regexp.Regexp {
	rs := []rune(strings.ToValidUTF8(p, "\uFFFD"))
	lit := func(r rune) string { return regexp.QuoteMeta(string(r)) }
	var b strings.Builder
	b.WriteString("(?is)^")
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			if i+1 < len(rs) {
				i++
				b.WriteString(lit(rs[i]))
			} else {
				b.WriteString(`\\`)
			}
		case '[':
			end := -1
			for j := i + 2; j < len(rs); j++ { // a ] right after [ is literal
				if rs[j] == ']' {
					end = j
					break
				}
			}
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := rs[i+1 : end]
			i = end
			b.WriteByte('[')
			if class[0] == '!' || class[0] == '^' {
				b.WriteByte('^')
				class = class[1:]
			}
			for _, r := range class {
				switch r {
				case '\\', '[', ']', '^':
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte(']')
		default:
			b.WriteString(lit(c))
		}
	}
	b.WriteByte('$')
	re, err := regexp.Compile(b.String())
	if err != nil { // e.g. a reversed range "[z-a]": match the text literally
		return regexp.MustCompile("(?is)^" + regexp.QuoteMeta(string(rs)) + "$")
	}
	return re
}

// expandBraces expands "{a,b}" alternatives the way brace-expansion does
// for the patterns npm uses (including an empty alternative, as in
// "readme{,.*[^~$]}"). Numeric ranges are not expanded.
func expandBraces(s string) []string {
	open := -1
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			if depth == 0 {
				continue
			}
			depth--
			if depth == 0 {
				alts := splitTopLevel(s[open+1 : i])
				if len(alts) < 2 {
					rest := expandBraces(s[i+1:])
					out := make([]string, 0, len(rest))
					for _, r := range rest {
						out = append(out, s[:i+1]+r)
					}
					return out
				}
				var out []string
				for _, a := range alts {
					out = append(out, expandBraces(s[:open]+a+s[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{s}
}

func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// relative reports whether the rule has a set of at most one component
// (or one component and a trailing slash): ignore-walk matches such rules
// against the basename of entries in subdirectories.
func (r *rule) relative() bool {
	for _, set := range r.sets {
		if len(set) <= 1 {
			return true
		}
		last := set[len(set)-1]
		if len(set) == 2 && last.empty {
			return true
		}
	}
	return false
}

// match reports whether the path f matches the rule (ignoring negation),
// with minimatch's matchBase and partial semantics.
func (r *rule) match(f string, partial bool) bool {
	if f == "/" && partial {
		return true
	}
	file := strings.Split(f, "/")
	base := file[len(file)-1]
	for i := len(file) - 2; base == "" && i >= 0; i-- {
		base = file[i]
	}
	for _, set := range r.sets {
		ff := file
		if len(set) == 1 {
			ff = []string{base}
		}
		if matchSegments(ff, set, partial) {
			return true
		}
	}
	return false
}

func matchSegments(file []string, pat []segment, partial bool) bool {
	fi, pi := 0, 0
	for ; fi < len(file) && pi < len(pat); fi, pi = fi+1, pi+1 {
		p := pat[pi]
		if p.globstar {
			if pi+1 == len(pat) {
				for _, f := range file[fi:] {
					if f == "." || f == ".." {
						return false
					}
				}
				return true
			}
			for fr := fi; fr < len(file); fr++ {
				if matchSegments(file[fr:], pat[pi+1:], partial) {
					return true
				}
				if file[fr] == "." || file[fr] == ".." {
					break
				}
			}
			return partial
		}
		// A non-empty glob never matches an empty component (minimatch
		// anchors such patterns with a (?=.) look-ahead).
		if (file[fi] == "" && !p.empty) || !p.re.MatchString(file[fi]) {
			return false
		}
	}
	switch {
	case fi == len(file) && pi == len(pat):
		return true
	case fi == len(file):
		return partial
	default:
		return fi == len(file)-1 && file[fi] == ""
	}
}
