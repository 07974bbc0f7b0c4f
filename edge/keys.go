package edge

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"moviequery/internal/apikey"
)

// keyring holds the active API keys by hash, replaced whole on each refresh
// so lookups take no lock.
type keyring struct {
	byHash atomic.Pointer[map[string]apikey.Key]
}

// lookup returns the key whose secret is given, if it is active.
func (k *keyring) lookup(secret string) (apikey.Key, bool) {
	keys := k.byHash.Load()
	if keys == nil || secret == "" {
		return apikey.Key{}, false
	}
	key, ok := (*keys)[apikey.Hash(secret)]
	return key, ok
}

func (k *keyring) loaded() bool {
	return k.byHash.Load() != nil
}

func (k *keyring) replace(keys []apikey.Key) {
	byHash := make(map[string]apikey.Key, len(keys))
	for _, key := range keys {
		byHash[key.Hash] = key
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
