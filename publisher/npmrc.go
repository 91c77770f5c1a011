package publisher

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultRegistry is npm's default registry.
const DefaultRegistry = "https://registry.npmjs.org/"

// npmrc is the merged key/value configuration of the .npmrc files, later
// files (project) overriding earlier ones (user).
type npmrc map[string]string

var envRef = regexp.MustCompile(`(\\*)\$\{([^${}?]+)(\?)?\}`)

// expandEnv replaces ${VAR} as npm's config does. An unset variable is an
// error unless written ${VAR?}, which expands to "".
func expandEnv(s string, getenv func(string) (string, bool)) (string, error) {
	var missing []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		g := envRef.FindStringSubmatch(m)
		if len(g[1])%2 == 1 { // escaped: \${X} stays literal
			return g[1][1:] + m[len(g[1]):]
		}
		v, ok := getenv(g[2])
		if !ok && g[3] == "" {
			missing = append(missing, g[2])
		}
		return g[1] + v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("failed to replace env in config: ${%s}", missing[0])
	}
	return out, nil
}

// parseNpmrc reads one .npmrc: "key = value" lines, "#" and ";" comments,
// quoted values, ${VAR} expansion.
func parseNpmrc(data []byte, getenv func(string) (string, bool), into npmrc) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // npm treats a bare key as "true"; none we read is a flag
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		ek, err := expandEnv(k, getenv)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		ev, err := expandEnv(v, getenv)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		into[ek] = ev
	}
	return sc.Err()
}

// loadNpmrc merges the user config (npm_config_userconfig, else
// ~/.npmrc) and the project config (<projectDir>/.npmrc). A file that does
// not exist is skipped; one that cannot be parsed is an error.
func loadNpmrc(projectDir string, getenv func(string) (string, bool)) (npmrc, []string, error) {
	cfg := npmrc{}
	var files []string
	user, ok := getenv("npm_config_userconfig")
	if !ok {
		user, ok = getenv("NPM_CONFIG_USERCONFIG")
	}
	if !ok {
		if home, hok := getenv("HOME"); hok && home != "" {
			user = filepath.Join(home, ".npmrc")
		}
	}
	paths := []string{user}
	if projectDir != "" {
		paths = append(paths, filepath.Join(projectDir, ".npmrc"))
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if err := parseNpmrc(data, getenv, cfg); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, p)
	}
	return cfg, files, nil
}

// nerfDart returns npm's credential key prefix for a URL: "//host[:port]/path/".
func nerfDart(u *url.URL) string {
	p := u.Path
	if !strings.HasSuffix(p, "/") {
		p = p[:strings.LastIndex(p, "/")+1]
	}
	return "//" + u.Host + p
}

// registryFor picks the registry the way npm's pickRegistry does, with
// explicit options and the environment first: the option, then
// npm_config_registry, then package.json publishConfig.registry, then the
// "@scope:registry" and "registry" keys of .npmrc, then npm's default.
func registryFor(name, explicit, publishConfig string, cfg npmrc, getenv func(string) (string, bool)) string {
	if explicit != "" {
		return explicit
	}
	for _, k := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		if v, ok := getenv(k); ok && v != "" {
			return v
		}
	}
	if publishConfig != "" {
		return publishConfig
	}
	if scope, _, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		if v := cfg[scope+":registry"]; v != "" {
			return v
		}
	}
	if v := cfg["registry"]; v != "" {
		return v
	}
	return DefaultRegistry
}

// tokenFor finds the bearer token for the registry: "<nerf-dart>:_authToken"
// in .npmrc, trying the registry's path and then each parent path up to the
// host, then NODE_AUTH_TOKEN and NPM_TOKEN. It returns where it found it.
func tokenFor(registry *url.URL, cfg npmrc, getenv func(string) (string, bool)) (token, source string) {
	dart := nerfDart(registry)
	for {
		if v := cfg[dart+":_authToken"]; v != "" {
			return v, ".npmrc " + dart + ":_authToken"
		}
		trimmed := strings.TrimSuffix(dart, "/")
		i := strings.LastIndex(trimmed, "/")
		if i <= 1 { // reached "//"
			break
		}
		dart = trimmed[:i+1]
	}
	for _, k := range []string{"NODE_AUTH_TOKEN", "NPM_TOKEN"} {
		if v, ok := getenv(k); ok && v != "" {
			return v, k
		}
	}
	return "", ""
}
