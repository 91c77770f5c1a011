package pack

import (
	"path"
	"strings"
	"unicode"
)

// packlistLess orders files as npm-packlist does, for compressibility:
// by extension, then basename (both lowercased), then the whole path,
// each compared with the "en" collation of String.prototype.localeCompare.
func packlistLess(a, b string) bool {
	if c := collate(strings.ToLower(path.Ext(a)), strings.ToLower(path.Ext(b))); c != 0 {
		return c < 0
	}
	if c := collate(strings.ToLower(path.Base(a)), strings.ToLower(path.Base(b))); c != 0 {
		return c < 0
	}
	return collate(a, b) < 0
}

// punctuationOrder is the CLDR root collation order of ASCII punctuation
// and symbols, all of which sort before digits and letters.
const punctuationOrder = "\t\n\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"

// primaryWeight gives a rune's first-level collation weight: punctuation
// first, then digits, then letters case-insensitively, then the rest by
// code point.
func primaryWeight(r rune) int {
	if i := strings.IndexRune(punctuationOrder, r); i >= 0 {
		return 1 + i
	}
	switch {
	case r >= '0' && r <= '9':
		return 100 + int(r-'0')
	case r < 0x80 && unicode.IsLetter(r):
		return 200 + int(unicode.ToLower(r)-'a')
	default:
		return 1000 + int(unicode.ToLower(r))
	}
}

// collate compares like ICU's root/"en" collator for ASCII names: the
// primary weights of the whole strings first, then lowercase before
// uppercase, then code points.
func collate(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if wa, wb := primaryWeight(ra[i]), primaryWeight(rb[i]); wa != wb {
			if wa < wb {
				return -1
			}
			return 1
		}
	}
	if len(ra) != len(rb) {
		if len(ra) < len(rb) {
			return -1
		}
		return 1
	}
	for i := range ra {
		la, lb := unicode.IsLower(ra[i]), unicode.IsLower(rb[i])
		if la != lb {
			if la {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}
