// Package apikey creates and checks the API keys that identify clients. A
// key's secret is shown once when it is created; only its SHA-256 hash is
// stored, and edges look keys up by that hash.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// Scopes a key may hold.
const (
	ScopeQuery = "query" // read the movie API
	ScopeAudit = "audit" // read revision histories
	ScopeAdmin = "admin" // purge caches and manage keys
)

// secretPrefix marks a string as a key of this API, which helps secret
// scanners and people reading a leaked log alike.
const secretPrefix = "mq_"

// Default rate limit of a new key, per edge.
const (
	DefaultRatePerSecond = 100
	DefaultBurst         = 200
)

// Key is a stored API key: its public id, a name for people, the hash of its
// secret, its scopes, and the requests per second each edge allows it, with
// the burst above that rate.
type Key struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Hash          string   `json:"hash"`
	Scopes        []string `json:"scopes"`
	RatePerSecond int      `json:"rate_per_second"`
	Burst         int      `json:"burst"`
}

// Has reports whether the key holds scope.
func (k Key) Has(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// New returns a new key and its secret. The secret is 256 random bits; the
// caller shows it once and stores only the key.
func New(name string, scopes []string) (Key, string, error) {
	if err := CheckScopes(scopes); err != nil {
		return Key{}, "", err
	}

	random := make([]byte, 32+6)
	if _, err := rand.Read(random); err != nil {
		return Key{}, "", fmt.Errorf("reading random bytes: %w", err)
	}

	secret := secretPrefix + base64.RawURLEncoding.EncodeToString(random[:32])
	key := Key{
		ID:            "key_" + hex.EncodeToString(random[32:]),
		Name:          name,
		Hash:          Hash(secret),
		Scopes:        scopes,
		RatePerSecond: DefaultRatePerSecond,
		Burst:         DefaultBurst,
	}
	return key, secret, nil
}

// Hash returns the hex SHA-256 of a secret, the form keys are stored and
// looked up in. A fast hash is enough because secrets are 256 random bits,
// not passwords.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CheckScopes returns an error naming the first unknown scope.
func CheckScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("a key needs at least one scope of %s, %s, %s", ScopeQuery, ScopeAudit, ScopeAdmin)
	}
	for _, s := range scopes {
		if s != ScopeQuery && s != ScopeAudit && s != ScopeAdmin {
			return fmt.Errorf("unknown scope %q; use %s", s, strings.Join([]string{ScopeQuery, ScopeAudit, ScopeAdmin}, ", "))
		}
	}
	return nil
}
