package provenance

import (
	"strconv"
)

// CheckSubject checks that the statement names exactly one subject, that
// its name is PURL(name, version) and that its sha512 digest is the hex
// digest of the exact tarball bytes. It returns a [*CheckError] named
// "subject-count", "subject-name" or "subject-digest".
func CheckSubject(s *Summary, name, version string, tarball []byte) error {
	if len(s.Subjects) != 1 {
		return &CheckError{Check: "subject-count", Expected: "1", Actual: strconv.Itoa(len(s.Subjects))}
	}
	sub := s.Subjects[0]
	if want := PURL(name, version); sub.Name != want {
		return &CheckError{Check: "subject-name", Expected: want, Actual: sub.Name}
	}
	if want := TarballSHA512(tarball); sub.SHA512 != want {
		return &CheckError{Check: "subject-digest", Expected: want, Actual: sub.SHA512}
	}
	return nil
}
