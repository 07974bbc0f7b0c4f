package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"moviequery/internal/apikey"
)

func TestMissLogNamesRequestAndClient(t *testing.T) {
	// A port on 127.0.0.1 that nothing listens on: every fill fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	originURL := "http://" + ln.Addr().String()
	ln.Close()

	var logs bytes.Buffer
	cfg := DefaultConfig()
	cfg.OriginURL = originURL
	cfg.OriginTimeout = time.Second
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cache.Close() })
	key, secret, err := apikey.New("logging", []string{apikey.ScopeQuery})
	if err != nil {
		t.Fatal(err)
	}
	key.RatePerSecond, key.Burst = 100, 100
	s.keys.replace([]apikey.Key{key})
	s.feed.started.Store(true)

	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/movies?year=1994")
	ctx.Request.Header.Set("X-API-Key", secret)
	s.handle(&ctx)
	if ctx.Response.StatusCode() != 503 {
		t.Fatalf("got status %d, want 503 with the origin down", ctx.Response.StatusCode())
	}

	var line struct {
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
		ClientID  string `json:"client_id"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("decoding log line %q: %v", logs.String(), err)
	}
	if line.Msg != "filling cache from origin" {
		t.Fatalf("got log line %q, want the failed fill", line.Msg)
	}
	if want := string(ctx.Response.Header.Peek("X-Request-Id")); line.RequestID != want {
		t.Errorf("request_id: got %q, want %q from X-Request-Id", line.RequestID, want)
	}
	if line.ClientID != key.ID {
		t.Errorf("client_id: got %q, want the key id %q", line.ClientID, key.ID)
	}
	if bytes.Contains(logs.Bytes(), []byte(secret)) {
		t.Error("the log line holds the API key's secret")
	}
}
