// Package gossip joins a region's origins and edges in a hashicorp/memberlist
// cluster and spreads small messages to every member. Messages are
// encrypted with the cluster's shared key; a member without it cannot join
// or read them.
package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a member.
type Config struct {
	// Name identifies the member in the cluster; it must be unique, e.g. the
	// pod name.
	Name string
	// BindAddr and BindPort are where the member listens for gossip, on UDP
	// and TCP. Port 0 picks a free port.
	BindAddr string
	BindPort int
	// Seeds are addresses (host:port) of members to join through. In
	// Kubernetes, a headless service's DNS name resolves to every pod.
	Seeds []string
	// SecretKey encrypts gossip with AES; 16, 24 or 32 bytes. Empty sends
	// gossip in the clear, which only tests should do.
	SecretKey []byte
	// OnMessage receives every message broadcast by another member. It runs
	// on memberlist's goroutine, so it must return quickly; the byte slice is
	// only valid during the call.
	OnMessage func([]byte)
	// Tune, when set, adjusts memberlist's configuration after the defaults
	// for one data center (probes every second, gossip every 200 ms); tests
	// use it for faster timings.
	Tune   func(*memberlist.Config)
	Logger *slog.Logger
}

// Member is this process's membership in the cluster. Its methods are safe
// for concurrent use.
type Member struct {
	list      *memberlist.Memberlist
	queue     *memberlist.TransmitLimitedQueue
	onMessage func([]byte)
	logger    *slog.Logger

	seen *seenSet

	mu     sync.Mutex
	closed bool // guarded by mu
}

// Start creates the member and joins the seeds that answer. A seed list
// where none answers is not an error when the list holds only this member's
// own address, so the first member of a cluster can start alone.
func Start(cfg Config) (*Member, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Member{onMessage: cfg.OnMessage, logger: cfg.Logger, seen: newSeenSet(seenMessages)}

	list, err := memberlist.Create(memberlistConfig(cfg, m))
	if err != nil {
		return nil, fmt.Errorf("starting gossip member %s: %w", cfg.Name, err)
	}
	m.list = list
	// Each member sends a message to RetransmitMult × log10(members) peers;
	// with every member relaying, four makes a miss unlikely even in small
	// clusters, where the logarithm is 1.
	m.queue = &memberlist.TransmitLimitedQueue{NumNodes: list.NumMembers, RetransmitMult: 4}

	if len(cfg.Seeds) > 0 {
		if _, err := list.Join(cfg.Seeds); err != nil {
			cfg.Logger.Warn("joining gossip seeds; running alone until another member joins", "seeds", cfg.Seeds, "error", err)
		}
	}
	cfg.Logger.Info("gossip member started", "name", cfg.Name, "address", m.Address(), "members", list.NumMembers())
	return m, nil
}

func memberlistConfig(cfg Config, m *Member) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.Name = cfg.Name
	c.BindAddr = cfg.BindAddr
	c.BindPort = cfg.BindPort
	c.AdvertisePort = cfg.BindPort
	c.SecretKey = cfg.SecretKey
	c.Delegate = delegate{m}
	c.Logger = log.New(io.Discard, "", 0)
	if cfg.Tune != nil {
		cfg.Tune(c)
	}
	return c
}

// Address returns the host:port other members join through.
func (m *Member) Address() string {
	node := m.list.LocalNode()
	return net.JoinHostPort(node.Addr.String(), strconv.Itoa(int(node.Port)))
}

// Members returns the number of members this one considers alive,
// itself included.
func (m *Member) Members() int {
	return m.list.NumMembers()
}

// Broadcast spreads a message to every other member: at once, directly to
// each member in its member list, and by gossip. memberlist sends a
// queued message to a few random members only, so every member that
// receives a message for the first time queues it again: the message
// spreads like an epidemic and reaches the whole cluster in a number of
// gossip rounds that grows with the logarithm of its size. A message must
// fit one gossip packet, so larger ones are rejected.
func (m *Member) Broadcast(msg []byte) error {
	if len(msg) > MaxMessageBytes {
		return fmt.Errorf("gossip message of %d bytes is over the limit of %d", len(msg), MaxMessageBytes)
	}

	framed := make([]byte, idBytes+len(msg))
	binary.BigEndian.PutUint64(framed, rand.Uint64())
	copy(framed[idBytes:], msg)
	m.seen.add(binary.BigEndian.Uint64(framed))
	m.sendDirect(framed)
	m.queue.QueueBroadcast(broadcast(framed))
	return nil
}

// sendDirect sends a message to every other member at once, over UDP, so
// that it arrives within one network delay rather than after gossip
// rounds. The gossip that follows repairs a lost packet.
func (m *Member) sendDirect(framed []byte) {
	self := m.list.LocalNode().Name
	for _, node := range m.list.Members() {
		if node.Name == self {
			continue
		}
		if err := m.list.SendBestEffort(node, framed); err != nil {
			m.logger.Debug("sending a gossip message directly; gossip will carry it", "member", node.Name, "error", err)
		}
	}
}

// MaxMessageBytes is the largest message Broadcast takes: memberlist's UDP
// buffer of 1,400 bytes less the framing, the message id and the encryption
// overhead, rounded down.
const MaxMessageBytes = 1200

// idBytes is the size of the random id in front of every message, by which
// members recognize a message they have already relayed.
const idBytes = 8

// seenMessages is how many recent message ids a member remembers. A message
// is relayed for a few seconds at most, so this covers thousands of
// messages a second.
const seenMessages = 16384

// Leave announces to the cluster that this member is going, waits up to timeout for the
// message to spread, and stops gossiping. Calling it twice is safe.
func (m *Member) Leave(timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true

	start := time.Now()
	err := m.list.Leave(timeout)
	err = errors.Join(err, m.list.Shutdown())
	m.logger.Info("gossip member left", "duration", time.Since(start))
	return err
}

// delegate connects memberlist to the member's queue and handler.
type delegate struct{ m *Member }

func (d delegate) NodeMeta(int) []byte { return nil }

// NotifyMsg delivers a message seen for the first time and relays it.
func (d delegate) NotifyMsg(framed []byte) {
	if len(framed) <= idBytes || !d.m.seen.add(binary.BigEndian.Uint64(framed)) {
		return
	}
	d.m.queue.QueueBroadcast(broadcast(append([]byte(nil), framed...)))
	if d.m.onMessage != nil {
		d.m.onMessage(framed[idBytes:])
	}
}

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.queue.GetBroadcasts(overhead, limit)
}

func (d delegate) LocalState(bool) []byte        { return nil }
func (d delegate) MergeRemoteState([]byte, bool) {}

// broadcast is one queued message. It never replaces another one in the
// queue: each invalidation counts.
type broadcast []byte

func (b broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b broadcast) Message() []byte                       { return b }
func (b broadcast) Finished()                             {}

// seenSet remembers the last n message ids, forgetting the oldest first.
type seenSet struct {
	mu   sync.Mutex
	ids  map[uint64]struct{} // guarded by mu
	ring []uint64            // guarded by mu
	next int                 // guarded by mu
}

func newSeenSet(n int) *seenSet {
	return &seenSet{ids: make(map[uint64]struct{}, n), ring: make([]uint64, n)}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}

	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
	s.ids[id] = struct{}{}
	return true
}
