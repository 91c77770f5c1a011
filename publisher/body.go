package publisher

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf16"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/publisher/pack"
)

// tarballURL is the advisory dist.tarball npm writes:
// <registry>/<name>/-/<name>-<version>.tgz, with https
// rewritten to http (the registry replaces it anyway).
func tarballURL(registry *url.URL, name, version string) string {
	u := *registry
	if u.Scheme == "https" {
		u.Scheme = "http"
	}
	base := strings.TrimSuffix(u.String(), "/")
	return base + "/" + name + "/-/" + name + "-" + version + ".tgz"
}

// hostedDefaults returns the "homepage" and "bugs" npm's normalize-package-data
// derives from a repository on github.com, gitlab.com or bitbucket.org.
func hostedDefaults(repository json.RawMessage) (homepage string, bugs map[string]string) {
	if len(repository) == 0 {
		return "", nil
	}
	u, err := provenance.NormalizeRepositoryURL(repository)
	if err != nil {
		return "", nil
	}
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "https" || strings.Count(strings.Trim(pu.Path, "/"), "/") != 1 {
		return "", nil
	}
	switch pu.Host {
	case "github.com", "gitlab.com", "bitbucket.org":
		return u + "#readme", map[string]string{"url": u + "/issues"}
	}
	return "", nil
}

// buildBody builds npm's publish body: the package.json with "_id" and
// "dist" added as the one version, the tarball base64 and, with
// provenance, the bundle as a raw JSON string (npm-protocol.md §4.3).
func buildBody(t *pack.Tarball, registry *url.URL, tag, access, gitHead string, bundleJSON []byte, bundleMediaType string) ([]byte, error) {
	var manifest map[string]json.RawMessage
	if err := json.Unmarshal(t.Manifest, &manifest); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	set := func(k string, v any) error {
		b, err := json.Marshal(v)
		manifest[k] = b
		return err
	}
	dist := npmwire.Dist{Integrity: t.Integrity, Shasum: t.Shasum, Tarball: tarballURL(registry, t.Name, t.Version)}
	if _, ok := manifest["readme"]; !ok && t.ReadmeFilename != "" {
		if err := set("readme", t.Readme); err != nil {
			return nil, err
		}
		if err := set("readmeFilename", t.ReadmeFilename); err != nil {
			return nil, err
		}
	}
	if home, bugs := hostedDefaults(manifest["repository"]); home != "" {
		if _, ok := manifest["homepage"]; !ok {
			if err := set("homepage", home); err != nil {
				return nil, err
			}
		}
		if _, ok := manifest["bugs"]; !ok {
			if err := set("bugs", bugs); err != nil {
				return nil, err
			}
		}
	}
	if _, ok := manifest["gitHead"]; !ok && gitHead != "" {
		if err := set("gitHead", gitHead); err != nil {
			return nil, err
		}
	}
	if err := set("_id", t.Name+"@"+t.Version); err != nil {
		return nil, err
	}
	if err := set("dist", dist); err != nil {
		return nil, err
	}
	version, err := marshalNoEscape(manifest)
	if err != nil {
		return nil, err
	}
	var desc string
	_ = json.Unmarshal(manifest["description"], &desc)
	body := npmwire.PublishBody{
		ID:          t.Name,
		Name:        t.Name,
		Description: desc,
		DistTags:    map[string]string{tag: t.Version},
		Versions:    map[string]json.RawMessage{t.Version: version},
		Attachments: map[string]npmwire.Attachment{
			npmwire.TarballAttachmentName(t.Name, t.Version): {
				ContentType: "application/octet-stream",
				Data:        base64.StdEncoding.EncodeToString(t.Bytes),
				Length:      int64(len(t.Bytes)),
			},
		},
	}
	if access != "" {
		body.Access = &access
	}
	if bundleJSON != nil {
		s := asciiJSON(bundleJSON)
		body.Attachments[npmwire.BundleAttachmentName(t.Name, t.Version)] = npmwire.Attachment{
			ContentType: bundleMediaType,
			Data:        s,
			Length:      int64(len(utf16.Encode([]rune(s)))), // JavaScript string length
		}
	}
	return marshalNoEscape(body)
}

// asciiJSON escapes every non-ASCII character of a JSON text as \uXXXX.
// The bundle means the same, and its byte length then equals its
// JavaScript string length, which is what npm sends as "length" (a
// checkpoint's em dash would otherwise make the two differ, and registries
// disagree on which one they check).
func asciiJSON(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, "\\u%04x", u)
		}
	}
	return out.String()
}

// marshalNoEscape marshals like JSON.stringify: no HTML escaping.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
