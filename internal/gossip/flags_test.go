package gossip

import (
	"flag"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	cases := []struct {
		args []string
		want string // part of the error, or "" for success
	}{
		{nil, ""},
		{[]string{"-gossip-bind", "0.0.0.0:7946", "-gossip-key", key, "-gossip-seeds", "edges.movies.svc:7946, origin:7946", "-gossip-name", "edge-0"}, ""},
		{[]string{"-gossip-bind", "7946", "-gossip-key", key}, "want host:port"},
		{[]string{"-gossip-bind", "0.0.0.0:x", "-gossip-key", key}, "port must be a number"},
		{[]string{"-gossip-bind", "0.0.0.0:7946"}, "-gossip-key"},
		{[]string{"-gossip-bind", "0.0.0.0:7946", "-gossip-key", "c2hvcnQ="}, "16, 24 or 32"},
	}
	for _, c := range cases {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		build := Flags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := build()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got error %v, want one containing %q", c.args, err, c.want)
		case c.want == "" && len(c.args) > 0 && (cfg.BindPort != 7946 || len(cfg.Seeds) != 2 || cfg.Name != "edge-0" || len(cfg.SecretKey) != 32):
			t.Errorf("%q: got %+v", c.args, cfg)
		case c.want == "" && len(c.args) == 0 && cfg != nil:
			t.Errorf("no flags: got %+v, want gossip off", cfg)
		}
	}
}
