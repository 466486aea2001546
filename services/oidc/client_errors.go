package oidc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The grants the token endpoint accepts: exactly what discovery lists (grantTypes).
var grantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}

// descriptions say, for each OAuth error op may answer without one, what it means here: every
// OAuth error weftid returns carries a non-empty error_description (RFC 6749 section 5.2).
var descriptions = map[string]string{
	"invalid_request":        "the request is missing a parameter or has one that is not valid",
	"invalid_client":         "the client could not be authenticated",
	"invalid_grant":          "the authorization code or refresh token is not valid: it expired, was revoked or was used already, or belongs to another client",
	"unauthorized_client":    "this client may not use this grant",
	"unsupported_grant_type": "this grant type is not supported",
	"invalid_scope":          "a requested scope is not valid",
	"server_error":           "the server could not answer the request",
}

// clientErrors wraps op's client endpoints (token, revocation, introspection, JWKS). The token
// endpoint refuses what discovery does not list before op reads the request: a grant type
// other than grantTypes (so a jwt-bearer assertion is never parsed) and, on every endpoint,
// client assertions (private_key_jwt). Every error op answers gets a description if it has
// none, and a 401 says how to authenticate (RFC 6749 section 5.2: WWW-Authenticate).
func clientErrors(op http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read")
			return
		}
		if r.PostForm.Get("client_assertion") != "" || r.PostForm.Get("client_assertion_type") != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_client", "client assertions (private_key_jwt) are not supported: authenticate with the client secret, or PKCE alone for a public client")
			return
		}
		if k := repeated(r.Form); k != "" { // RFC 6749 section 3.2: never more than once
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", k+" is given more than once")
			return
		}
		if (strings.HasSuffix(r.URL.Path, "/introspect") || strings.HasSuffix(r.URL.Path, "/revoke")) && r.PostForm.Get("token") == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is missing") // RFC 7662 and RFC 7009: required
			return
		}
		if strings.HasSuffix(r.URL.Path, "/token") {
			switch g := r.PostForm.Get("grant_type"); {
			case g == "":
				writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
				return
			case !slices.Contains(grantTypes, g):
				writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
					"grant_type "+g+" is not supported: use "+strings.Join(grantTypes, ", "))
				return
			}
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		if strings.HasSuffix(r.URL.Path, "/token") || strings.HasSuffix(r.URL.Path, "/introspect") {
			// Tokens and what they grant are never cached (RFC 6749 section 5.1, RFC 7662).
			rec.header.Set("Cache-Control", "no-store")
			rec.header.Set("Pragma", "no-cache")
		}
		op.ServeHTTP(rec, r)
		rec.flush(w)
	})
}

// writeOAuthError answers an OAuth error as RFC 6749 section 5.2 says.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="weftid", charset="UTF-8"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// recorder keeps op's answer so that an error can be completed before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// flush sends the answer. An OAuth error without a description gets one; an error op wrote as
// plain text (introspection's failed client authentication) becomes a JSON OAuth error.
func (r *recorder) flush(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	body := r.body.Bytes()
	if r.status >= 400 {
		var e map[string]any
		if json.Unmarshal(body, &e) != nil || e["error"] == nil {
			e = map[string]any{"error": errorForStatus(r.status)}
		}
		code, _ := e["error"].(string)
		if code == "server_error" {
			// op describes a server error with the error itself: that stays in the log.
			e["error_description"] = descriptions[code]
		}
		if desc, _ := e["error_description"].(string); desc == "" {
			desc = descriptions[code]
			if desc == "" {
				desc = "the request was refused"
			}
			e["error_description"] = desc
		}
		body, _ = json.Marshal(e)
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="weftid", charset="UTF-8"`)
		}
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(body)
}

// errorForStatus is the OAuth error of an answer op wrote without one.
func errorForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request"
}

// repeated is the first parameter of v given more than once, or "".
func repeated(v map[string][]string) string {
	for k, vals := range v {
		if len(vals) > 1 {
			return k
		}
	}
	return ""
}
