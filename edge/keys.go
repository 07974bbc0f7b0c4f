package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"moviequery/internal/apikey"
)

// keyring holds the active API keys by the SHA-256 of their secret,
// replaced whole on each refresh so lookups take no lock.
type keyring struct {
	byHash atomic.Pointer[map[[sha256.Size]byte]apikey.Key]
}

// lookup returns the key whose secret is given, if it is active. Looking up
// the hash of the secret, not the secret, leaks nothing through timing.
func (k *keyring) lookup(secret []byte) (apikey.Key, bool) {
	keys := k.byHash.Load()
	if keys == nil || len(secret) == 0 {
		return apikey.Key{}, false
	}
	key, ok := (*keys)[sha256.Sum256(secret)]
	return key, ok
}

func (k *keyring) loaded() bool {
	return k.byHash.Load() != nil
}

// replace installs a new key list. Keys whose hash is not 64 hex
// characters are skipped: they could never match.
func (k *keyring) replace(keys []apikey.Key) {
	byHash := make(map[[sha256.Size]byte]apikey.Key, len(keys))
	for _, key := range keys {
		var hash [sha256.Size]byte
		if n, err := hex.Decode(hash[:], []byte(key.Hash)); err == nil && n == sha256.Size {
			byHash[hash] = key
		}
	}
	k.byHash.Store(&byHash)
}

// refreshKeys loads the key list from the origin every interval until ctx
// ends, so new and revoked keys take effect without a restart. On failure
// the last list stays in force.
func refreshKeys(ctx context.Context, ring *keyring, origin *originClient, interval time.Duration, logger *slog.Logger) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		keys, err := origin.keys(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("refreshing API keys; keeping the previous list", "error", err)
		case err == nil:
			ring.replace(keys)
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
