package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/npmwire"
)

const (
	// maxSearchSize caps the page size of /-/v1/search, like npm's 250.
	maxSearchSize = 250
	// defaultSearchSize is npm's default page size.
	defaultSearchSize = 20
	// maxTagBodyBytes caps a dist-tag PUT body (a JSON string).
	maxTagBodyBytes = 1 << 10
)

// search serves GET /-/v1/search?text=&size=&from=.
func (s *Server) search(c echo.Context) error {
	q := c.QueryParams()
	size, from := defaultSearchSize, 0
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: size %q", ErrBadRequest, v)
		}
		size = min(n, maxSearchSize)
	}
	if v := q.Get("from"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: from %q", ErrBadRequest, v)
		}
		from = n
	}
	hits, total, err := s.store.Search(c.Request().Context(), q.Get("text"), from, size)
	if err != nil {
		return err
	}
	base := s.baseURL(c)
	out := npmwire.SearchResponse{Objects: []npmwire.SearchObject{}, Total: total, Time: time.Now().UTC().Format(time.RFC1123)}
	for i, h := range hits {
		scope := "unscoped"
		if strings.HasPrefix(h.Name, "@") {
			scope, _, _ = strings.Cut(h.Name[1:], "/")
		}
		score := 1 / float64(from+i+1)
		out.Objects = append(out.Objects, npmwire.SearchObject{
			Package: npmwire.SearchPackage{
				Name: h.Name, Scope: scope, Version: h.Latest, Description: h.Description, Keywords: h.Keywords,
				Date: h.Modified.Format(npmTime), Links: map[string]string{"npm": base + "/" + h.Name},
				Publisher: &npmwire.Person{Name: h.Publisher}, Maintainers: []npmwire.Person{{Name: h.Publisher}},
			},
			Score:       npmwire.SearchScore{Final: score, Detail: map[string]float64{"quality": score, "popularity": score, "maintenance": score}},
			SearchScore: score,
		})
	}
	return c.JSON(http.StatusOK, out)
}

// keys serves GET /-/npm/v1/keys.
func (s *Server) keys(c echo.Context) error {
	return c.JSON(http.StatusOK, s.signer.keys())
}

// attestations serves GET /-/npm/v1/attestations/{name}@{version} (all
// false: only what npm audit signatures can verify) and
// GET /-/provenant/v1/attestations/{name}@{version} (all true: everything).
// See the package documentation for the rule.
func (s *Server) attestations(all bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		spec, err := unescape(c.Param("*"))
		if err != nil {
			return err
		}
		i := strings.LastIndexByte(spec, '@')
		if i <= 0 {
			return fmt.Errorf("%w: expected {name}@{version}, got %q", ErrBadRequest, spec)
		}
		name, version := spec[:i], spec[i+1:]
		if err := validName(name); err != nil {
			return err
		}
		v, err := s.storedVersion(c, name, version)
		if err != nil {
			return err
		}
		out := npmwire.AttestationsResponse{Attestations: []npmwire.Attestation{}}
		if all && v.PublishAttestation != nil {
			out.Attestations = append(out.Attestations, npmwire.Attestation{PredicateType: npmwire.PredicatePublishV01, Bundle: v.PublishAttestation})
		}
		if root, pred := trustRoot(v.Provenance); v.BundleKey != "" && (all || root == "public-good") {
			bundle, err := s.readBlob(c.Request().Context(), v.BundleKey)
			if err != nil {
				return err
			}
			if pred == "" {
				pred = npmwire.PredicateSLSAv1
			}
			out.Attestations = append(out.Attestations, npmwire.Attestation{PredicateType: pred, Bundle: bundle})
		}
		if len(out.Attestations) == 0 {
			return fmt.Errorf("%w: no attestations for %s@%s", ErrNotFound, name, version)
		}
		return c.JSON(http.StatusOK, out)
	}
}

// packageAPI dispatches /-/package/{name}/dist-tags[/{tag}] and
// /-/package/{name}/visibility.
func (s *Server) packageAPI(c echo.Context) error {
	p := strings.TrimPrefix(c.Request().URL.EscapedPath(), "/-/package/")
	name, rest, err := splitPackagePath(p)
	if err != nil {
		return err
	}
	m := c.Request().Method
	switch {
	case len(rest) == 1 && rest[0] == "dist-tags" && m == http.MethodGet:
		v, err := s.view(c, name)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v.pkg.DistTags)
	case len(rest) == 2 && rest[0] == "dist-tags" && (m == http.MethodPut || m == http.MethodPost):
		return s.putDistTag(c, name, rest[1])
	case len(rest) == 2 && rest[0] == "dist-tags" && m == http.MethodDelete:
		return s.deleteDistTag(c, name, rest[1])
	case len(rest) == 1 && rest[0] == "visibility" && m == http.MethodGet:
		if _, err := s.view(c, name); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, npmwire.VisibilityResponse{Public: true})
	}
	return fmt.Errorf("%w: no route for %s %s", ErrNotFound, m, c.Request().URL.Path)
}

// putDistTag serves npm dist-tag add: the body is the version as a JSON string.
func (s *Server) putDistTag(c echo.Context, name, tag string) error {
	user, err := requireUser(c, true)
	if err != nil {
		return err
	}
	if err := validTag(tag); err != nil {
		return err
	}
	body, err := readBody(c, maxTagBodyBytes)
	if err != nil {
		return err
	}
	var version string
	if err := json.Unmarshal(body, &version); err != nil {
		return fmt.Errorf("%w: dist-tag body must be a JSON string: %v", ErrBadRequest, err)
	}
	unlock := s.lock(name)
	defer unlock()
	defer s.cache.invalidate(name)
	if _, err := s.ownedPackage(c, name, user, ""); err != nil {
		return err
	}
	if err := s.store.SetDistTag(c.Request().Context(), name, tag, version); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"ok": true})
}

// deleteDistTag serves npm dist-tag rm. The latest tag cannot be removed.
func (s *Server) deleteDistTag(c echo.Context, name, tag string) error {
	user, err := requireUser(c, true)
	if err != nil {
		return err
	}
	if tag == "latest" {
		return fmt.Errorf("%w: the latest tag cannot be removed", ErrBadRequest)
	}
	unlock := s.lock(name)
	defer unlock()
	defer s.cache.invalidate(name)
	if _, err := s.ownedPackage(c, name, user, ""); err != nil {
		return err
	}
	if err := s.store.DeleteDistTag(c.Request().Context(), name, tag); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true})
}
