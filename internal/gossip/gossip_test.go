package gossip

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fast makes a local cluster converge in milliseconds.
func fast(c *memberlist.Config) {
	c.GossipInterval = 20 * time.Millisecond
	c.ProbeInterval = 200 * time.Millisecond
	c.PushPullInterval = time.Second
}

type inbox struct {
	mu       sync.Mutex
	messages [][]byte
}

func (b *inbox) add(msg []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.messages = append(b.messages, append([]byte(nil), msg...))
}

func (b *inbox) has(msg []byte) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		if bytes.Equal(m, msg) {
			return true
		}
	}
	return false
}

func startMember(t *testing.T, name string, key []byte, seeds []string, box *inbox) *Member {
	t.Helper()
	m, err := Start(Config{Name: name, BindAddr: "127.0.0.1", Seeds: seeds, SecretKey: key, OnMessage: box.add, Tune: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Leave(time.Second) })
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBroadcastReachesEveryMember(t *testing.T) {
	boxes := make([]*inbox, 5)
	members := make([]*Member, 5)
	for i := range members {
		boxes[i] = &inbox{}
		var seeds []string
		if i > 0 {
			seeds = []string{members[0].Address()}
		}
		members[i] = startMember(t, fmt.Sprintf("member-%d", i), testKey, seeds, boxes[i])
	}
	for i, m := range members {
		waitFor(t, fmt.Sprintf("member %d seeing five members", i), func() bool { return m.Members() == 5 })
	}

	msg := []byte("invalidate movie 42")
	if err := members[2].Broadcast(msg); err != nil {
		t.Fatal(err)
	}
	for i, box := range boxes {
		if i == 2 {
			continue
		}
		waitFor(t, fmt.Sprintf("member %d receiving", i), func() bool { return box.has(msg) })
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	first := startMember(t, "keyed", testKey, nil, &inbox{})
	other := startMember(t, "other-key", []byte("fedcba9876543210fedcba9876543210"), []string{first.Address()}, &inbox{})

	time.Sleep(300 * time.Millisecond)
	if first.Members() != 1 || other.Members() != 1 {
		t.Errorf("members: got %d and %d, want each alone", first.Members(), other.Members())
	}
}

func TestBroadcastRejectsOversizedMessage(t *testing.T) {
	m := startMember(t, "alone", testKey, nil, &inbox{})
	if err := m.Broadcast(make([]byte, MaxMessageBytes+1)); err == nil {
		t.Error("Broadcast of an oversized message: got nil error, want one")
	}
}
