package gossip

import (
	"encoding/base64"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Flags registers the gossip flags of a command and returns a function
// that builds the Config they describe after parsing, or nil when
// -gossip-bind is empty.
func Flags(fs *flag.FlagSet) func() (*Config, error) {
	bind := fs.String("gossip-bind", "", "host:port to gossip on, UDP and TCP; empty turns gossip off")
	seeds := fs.String("gossip-seeds", "", "comma-separated host:port of members to join through; in Kubernetes, the headless service's DNS name and port")
	key := fs.String("gossip-key", "", "base64 of the region's 16-, 24- or 32-byte gossip key (set it through the environment)")
	name := fs.String("gossip-name", "", "this member's unique name; empty uses the host name")

	return func() (*Config, error) {
		if *bind == "" {
			return nil, nil
		}
		return parseFlags(*bind, *seeds, *key, *name)
	}
}

func parseFlags(bind, seeds, key, name string) (*Config, error) {
	host, portText, err := net.SplitHostPort(bind)
	if err != nil {
		return nil, fmt.Errorf("-gossip-bind %q: want host:port: %w", bind, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("-gossip-bind %q: the port must be a number from 0 to 65535", bind)
	}

	secret, err := base64.StdEncoding.DecodeString(key)
	if err != nil || (len(secret) != 16 && len(secret) != 24 && len(secret) != 32) {
		return nil, fmt.Errorf("-gossip-key: want the base64 of 16, 24 or 32 random bytes, e.g. from `openssl rand -base64 32`")
	}

	if name == "" {
		if name, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("-gossip-name is empty and the host name is unknown: %w", err)
		}
	}
	cfg := &Config{Name: name, BindAddr: host, BindPort: port, SecretKey: secret}
	for _, s := range strings.Split(seeds, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Seeds = append(cfg.Seeds, s)
		}
	}
	return cfg, nil
}
