package entra

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// TokenInfo is what an access token says about itself. It is read from
// the token's claims without verifying the signature: only Graph can
// verify its tokens, so this is for reporting, never for deciding access.
type TokenInfo struct {
	TenantID  string    `json:"tenant_id,omitempty"`
	AppID     string    `json:"app_id,omitempty"`
	User      string    `json:"user,omitempty"` // UPN of the signed-in user; "" for app-only tokens
	Delegated bool      `json:"delegated"`
	Scopes    []string  `json:"scopes,omitempty"` // delegated permissions (scp)
	Roles     []string  `json:"roles,omitempty"`  // application permissions (roles)
	Expiry    time.Time `json:"expires_at,omitzero"`
}

// Has reports whether the token carries any of perms, as a delegated
// scope or an application role (case-insensitive).
func (i TokenInfo) Has(perms ...string) bool {
	held := i.Roles
	if i.Delegated {
		held = i.Scopes
	}
	for _, h := range held {
		for _, p := range perms {
			if strings.EqualFold(h, p) {
				return true
			}
		}
	}
	return false
}

// InspectToken reads the claims of a JWT access token without verifying it.
func InspectToken(access string) (TokenInfo, error) {
	var c struct {
		TID   string   `json:"tid"`
		AppID string   `json:"appid"`
		AZP   string   `json:"azp"`
		UPN   string   `json:"upn"`
		PUN   string   `json:"preferred_username"`
		UName string   `json:"unique_name"`
		SCP   string   `json:"scp"`
		Roles []string `json:"roles"`
		Exp   int64    `json:"exp"`
		IDTyp string   `json:"idtyp"`
	}
	if err := jwtClaims(access, &c); err != nil {
		return TokenInfo{}, err
	}
	info := TokenInfo{TenantID: c.TID, AppID: c.AppID, Scopes: strings.Fields(c.SCP), Roles: c.Roles}
	if info.AppID == "" {
		info.AppID = c.AZP
	}
	info.User = firstNonEmpty(c.UPN, c.PUN, c.UName)
	info.Delegated = c.SCP != "" || (c.IDTyp == "user")
	if c.Exp > 0 {
		info.Expiry = time.Unix(c.Exp, 0).UTC()
	}
	return info, nil
}

// accountOf names the account a user token was issued to: the ID
// token's preferred_username, else the access token's upn.
func accountOf(tok *oauth2.Token) string {
	if id, ok := tok.Extra("id_token").(string); ok && id != "" {
		var c struct {
			PUN string `json:"preferred_username"`
			UPN string `json:"upn"`
		}
		if jwtClaims(id, &c) == nil {
			if a := firstNonEmpty(c.PUN, c.UPN); a != "" {
				return strings.ToLower(a)
			}
		}
	}
	if info, err := InspectToken(tok.AccessToken); err == nil && info.User != "" {
		return strings.ToLower(info.User)
	}
	return ""
}

func jwtClaims(jwt string, into any) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return errors.New("the token's claims are not base64url")
	}
	if err := json.Unmarshal(b, into); err != nil {
		return errors.New("the token's claims are not JSON")
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
