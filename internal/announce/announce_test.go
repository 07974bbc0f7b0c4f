package announce

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestPackRoundTripsWithinTheLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var changes []Change
	for seq := int64(1); seq <= 300; seq++ {
		c := Change{Seq: seq * 1_000_003}
		// Mostly ordinary changes, some with no tags, one far over a message.
		n := rng.IntN(60)
		if seq%50 == 0 {
			n = 0
		}
		if seq == 123 {
			n = 500
		}
		for range n {
			c.Tags = append(c.Tags, rng.Uint64())
		}
		changes = append(changes, c)
	}

	const limit = 1200
	messages := Pack(changes, limit)
	var got []Change
	for i, msg := range messages {
		if len(msg) > limit {
			t.Fatalf("message %d has %d bytes, over the limit of %d", i, len(msg), limit)
		}
		part, err := Unpack(msg)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got = append(got, part...)
	}

	// The change over a message's size comes back truncated.
	changes[122] = Change{Seq: changes[122].Seq, Truncated: true}
	if diff := cmp.Diff(changes, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("changes differ after packing (-want +got):\n%s", diff)
	}
}

func TestUnpackRejectsTruncatedMessages(t *testing.T) {
	msg := Pack([]Change{{Seq: 7, Tags: []uint64{1, 2, 3}}}, 1200)[0]
	for n := range len(msg) {
		if n == 1 {
			continue // the version byte alone is an empty announcement
		}
		if _, err := Unpack(msg[:n]); err == nil {
			t.Errorf("Unpack of the first %d of %d bytes: no error", n, len(msg))
		}
	}
}
