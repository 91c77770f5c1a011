package registry

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/store"
)

const (
	// maxUserBodyBytes caps an adduser/login body (a name, a password, an email).
	maxUserBodyBytes = 16 << 10
	// passwordIterations is the PBKDF2-SHA256 work factor.
	passwordIterations = 210_000
	// minPasswordLength is the shortest password adduser accepts.
	minPasswordLength = 8
	// tokenPrefix starts every token the registry issues, so scanners can
	// recognise leaked ones.
	tokenPrefix = "npm_prov_"
	userKey     = "provenant.user"
	tokenKey    = "provenant.token"
)

// hashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<key>".
func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations, hex.EncodeToString(salt), hex.EncodeToString(key)), nil
}

func checkPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err1 := strconv.Atoi(parts[1])
	salt, err2 := hex.DecodeString(parts[2])
	want, err3 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// authenticate resolves the Authorization header (Bearer token or Basic
// user:password) into the request's user. Bad credentials are a 401,
// except on the login route, where a stale token must not block a login.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		if h == "" {
			return next(c)
		}
		user, tok, err := s.resolveAuth(c, h)
		if err != nil {
			if strings.HasPrefix(c.Request().URL.Path, "/-/user/") {
				return next(c)
			}
			return err
		}
		c.Set(userKey, user)
		if tok != nil {
			c.Set(tokenKey, tok)
		}
		return next(c)
	}
}

func (s *Server) resolveAuth(c echo.Context, h string) (string, *store.Token, error) {
	ctx := c.Request().Context()
	scheme, cred, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		tok, err := s.store.TokenByHash(ctx, hashToken(strings.TrimSpace(cred)))
		if errors.Is(err, store.ErrNotFound) {
			return "", nil, fmt.Errorf("%w: invalid token", ErrUnauthorized)
		}
		if err != nil {
			return "", nil, err
		}
		return tok.User, tok, nil
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", nil, fmt.Errorf("%w: malformed basic credentials", ErrUnauthorized)
		}
		name, pw, _ := strings.Cut(string(raw), ":")
		// Basic credentials on any route are a password guess too: only
		// failures count, so a client sending them on every request
		// (npm's legacy _auth) is never limited.
		key := loginKey(c, name)
		if err := s.loginLimit.check(key); err != nil {
			return "", nil, err
		}
		u, err := s.store.User(ctx, name)
		if err != nil || !checkPassword(u.PasswordHash, pw) {
			if err := s.loginLimit.take(key); err != nil {
				return "", nil, err
			}
			return "", nil, fmt.Errorf("%w: invalid user name or password", ErrUnauthorized)
		}
		return name, nil, nil
	}
	// The header may be a bare token without a scheme: never echo it.
	return "", nil, fmt.Errorf("%w: unsupported authorization scheme (expected Bearer or Basic)", ErrUnauthorized)
}

// requireUser returns the authenticated user; write additionally rejects
// read-only tokens.
func requireUser(c echo.Context, write bool) (string, error) {
	u, _ := c.Get(userKey).(string)
	if u == "" {
		return "", fmt.Errorf("%w: this command requires you to be logged in", ErrUnauthorized)
	}
	if tok, _ := c.Get(tokenKey).(*store.Token); write && tok != nil && tok.ReadOnly {
		return "", fmt.Errorf("%w: read-only token", ErrForbidden)
	}
	return u, nil
}

// issueToken creates and stores a new token for user.
func (s *Server) issueToken(c echo.Context, user string) (string, error) {
	secret := make([]byte, 24)
	rand.Read(secret)
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(secret)
	keyBytes := make([]byte, 8)
	rand.Read(keyBytes)
	err := s.store.CreateToken(c.Request().Context(), store.Token{
		Key: hex.EncodeToString(keyBytes), Hash: hashToken(tok), Prefix: tok[:len(tokenPrefix)+6],
		User: user, Created: time.Now().UTC(),
	})
	return tok, err
}

// putUser handles npm adduser and npm login --auth-type=legacy:
// PUT /-/user/org.couchdb.user:{name}. A new name creates the account
// (when registration is open); an existing name logs in with its password.
// Either way the answer carries a fresh token.
func (s *Server) putUser(c echo.Context) error {
	name, ok := strings.CutPrefix(c.Param("user"), "org.couchdb.user:")
	if !ok || name == "" {
		return fmt.Errorf("%w: expected /-/user/org.couchdb.user:<name>", ErrBadRequest)
	}
	if err := s.loginLimit.take(loginKey(c, name)); err != nil {
		return err
	}
	var req npmwire.AddUserRequest
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, maxUserBodyBytes)).Decode(&req); err != nil {
		return fmt.Errorf("%w: user body: %v", ErrBadRequest, err)
	}
	if req.Name != name {
		return fmt.Errorf("%w: body name %q differs from path name %q", ErrBadRequest, req.Name, name)
	}
	if err := validUserName(name); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.store.User(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !s.cfg.registration() {
			return fmt.Errorf("%w: registration is closed on this registry", ErrForbidden)
		}
		if len(req.Password) < minPasswordLength {
			return fmt.Errorf("%w: password shorter than %d characters", ErrBadRequest, minPasswordLength)
		}
		hash, err := hashPassword(req.Password)
		if err != nil {
			return err
		}
		if err := s.store.CreateUser(ctx, store.User{Name: name, PasswordHash: hash, Email: req.Email, Created: time.Now().UTC()}); err != nil {
			return err
		}
	case err != nil:
		return err
	case !checkPassword(u.PasswordHash, req.Password):
		return fmt.Errorf("%w: invalid user name or password", ErrUnauthorized)
	}
	tok, err := s.issueToken(c, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, npmwire.AddUserResponse{OK: true, ID: "org.couchdb.user:" + name, Token: tok})
}

func validUserName(name string) error {
	if len(name) > 64 || name != strings.ToLower(name) || strings.ContainsAny(name, "/:@%\\ ") {
		return fmt.Errorf("%w: invalid user name %q: lowercase, at most 64 characters, no / : @ %% or spaces", ErrBadRequest, name)
	}
	return nil
}

// getUser serves GET /-/user/org.couchdb.user:{name} (npm profile, login retries).
func (s *Server) getUser(c echo.Context) error {
	name := strings.TrimPrefix(c.Param("user"), "org.couchdb.user:")
	u, err := s.store.User(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"_id": "org.couchdb.user:" + u.Name, "name": u.Name, "email": u.Email})
}

// whoami serves GET /-/whoami.
func (s *Server) whoami(c echo.Context) error {
	u, err := requireUser(c, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, npmwire.WhoamiResponse{Username: u})
}

// logout serves npm logout: DELETE /-/user/token/{token}.
func (s *Server) logout(c echo.Context) error {
	u, err := requireUser(c, false)
	if err != nil {
		return err
	}
	tok, err := unescape(c.Param("token"))
	if err != nil {
		return err
	}
	if err := s.store.DeleteToken(c.Request().Context(), u, hashToken(tok)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]bool{"ok": true})
}

// listTokens serves npm token list: GET /-/npm/v1/tokens.
func (s *Server) listTokens(c echo.Context) error {
	u, err := requireUser(c, false)
	if err != nil {
		return err
	}
	toks, err := s.store.Tokens(c.Request().Context(), u)
	if err != nil {
		return err
	}
	out := npmwire.TokenList{Objects: []npmwire.TokenInfo{}, Total: len(toks)}
	for _, t := range toks {
		ts := t.Created.Format(time.RFC3339Nano)
		out.Objects = append(out.Objects, npmwire.TokenInfo{Token: t.Prefix, Key: t.Key, ReadOnly: t.ReadOnly, CIDRWhitelist: []string{}, Created: ts, Updated: ts})
	}
	return c.JSON(http.StatusOK, out)
}

// revokeToken serves npm token revoke: DELETE /-/npm/v1/tokens/token/{key}.
func (s *Server) revokeToken(c echo.Context) error {
	u, err := requireUser(c, false)
	if err != nil {
		return err
	}
	if err := s.store.DeleteToken(c.Request().Context(), u, c.Param("key")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
