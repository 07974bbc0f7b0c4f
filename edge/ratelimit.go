package edge

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"moviequery/internal/apikey"
)

// limiters holds one token bucket per API key id. Each edge limits on its
// own, so a region of N edges behind a load balancer allows a key about N
// times its rate.
type limiters struct {
	mu    sync.Mutex
	byKey map[string]*rate.Limiter // guarded by mu
	now   func() time.Time
}

func newLimiters(now func() time.Time) *limiters {
	return &limiters{byKey: map[string]*rate.Limiter{}, now: now}
}

// allow takes one request from key's bucket. When the bucket is empty it
// returns false and how long until a request would be allowed.
func (l *limiters) allow(key apikey.Key) (bool, time.Duration) {
	limiter := l.limiter(key)
	now := l.now()
	if limiter.AllowN(now, 1) {
		return true, 0
	}

	reservation := limiter.ReserveN(now, 1)
	delay := reservation.DelayFrom(now)
	if delay == 0 {
		return true, 0
	}
	reservation.CancelAt(now)
	return false, delay
}

// limiter returns key's bucket, creating it or applying a changed rate.
func (l *limiters) limiter(key apikey.Key) *rate.Limiter {
	perSecond, burst := key.RatePerSecond, key.Burst
	if perSecond <= 0 || burst <= 0 {
		perSecond, burst = apikey.DefaultRatePerSecond, apikey.DefaultBurst
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	limiter, ok := l.byKey[key.ID]
	if !ok {
		limiter = rate.NewLimiter(rate.Limit(perSecond), burst)
		l.byKey[key.ID] = limiter
		return limiter
	}
	if limiter.Limit() != rate.Limit(perSecond) || limiter.Burst() != burst {
		limiter.SetLimitAt(l.now(), rate.Limit(perSecond))
		limiter.SetBurstAt(l.now(), burst)
	}
	return limiter
}

// retryAfterSeconds rounds a delay up to the whole seconds of Retry-After.
func retryAfterSeconds(delay time.Duration) int {
	return max(1, int(math.Ceil(delay.Seconds())))
}
