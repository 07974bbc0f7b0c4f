// Package announce encodes the change announcements an origin gossips to
// its region's edges after each commit: per change, its sequence number in
// the region's change feed and the hashes (tags.Hash) of the cache tags it
// touches. Changes are packed into messages that each fit one gossip
// packet.
package announce

import (
	"encoding/binary"
	"errors"
	"fmt"

	"moviequery/internal/tags"
)

// HeaderFeedSeen carries, on an edge's search request to its origin, the
// greatest change feed position the edge has applied. The origin's response
// reflects at least every change up to it, so a fill never stores a
// response older than an invalidation the edge applied before it began.
const HeaderFeedSeen = "X-Feed-Seen"

// Change is one entry of the change feed as edges need it. A change with
// more tags than one message holds is sent Truncated, without its tags:
// the edge then reads it from the change feed.
type Change struct {
	Seq       int64
	Tags      []uint64 // tags.Hash of each tag
	Truncated bool
}

// Hashes returns the hashes of tag names.
func Hashes(names []string) []uint64 {
	out := make([]uint64, len(names))
	for i, n := range names {
		out[i] = tags.Hash(n)
	}
	return out
}

// version is the first byte of every message, so that a later format can
// be recognized.
const version = 1

// Pack encodes changes into messages of at most maxBytes each, keeping
// their order.
func Pack(changes []Change, maxBytes int) [][]byte {
	const changeHeader = 2 * binary.MaxVarintLen64
	maxTags := (maxBytes - 1 - changeHeader) / 8

	var messages [][]byte
	msg := []byte{version}
	for _, c := range changes {
		if c.Truncated || len(c.Tags) > maxTags {
			c = Change{Seq: c.Seq, Truncated: true}
		}
		if len(msg)+changeHeader+8*len(c.Tags) > maxBytes {
			messages = append(messages, msg)
			msg = []byte{version}
		}
		msg = appendChange(msg, c)
	}
	if len(msg) > 1 {
		messages = append(messages, msg)
	}
	return messages
}

// appendChange writes the sequence number, then the tag count times two
// plus one when truncated, then the tags.
func appendChange(msg []byte, c Change) []byte {
	count := uint64(len(c.Tags)) << 1
	if c.Truncated {
		count |= 1
	}
	msg = binary.AppendUvarint(msg, uint64(c.Seq))
	msg = binary.AppendUvarint(msg, count)
	for _, h := range c.Tags {
		msg = binary.BigEndian.AppendUint64(msg, h)
	}
	return msg
}

// ErrMalformed is returned for a message that is not an announcement.
var ErrMalformed = errors.New("malformed change announcement")

// Unpack decodes one message.
func Unpack(msg []byte) ([]Change, error) {
	if len(msg) == 0 || msg[0] != version {
		return nil, fmt.Errorf("%w: unknown version", ErrMalformed)
	}
	msg = msg[1:]

	var changes []Change
	for len(msg) > 0 {
		seq, n := binary.Uvarint(msg)
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad sequence number", ErrMalformed)
		}
		msg = msg[n:]
		field, n := binary.Uvarint(msg)
		count := field >> 1
		if n <= 0 || count > uint64(len(msg)-n)/8 {
			return nil, fmt.Errorf("%w: bad tag count", ErrMalformed)
		}
		msg = msg[n:]

		c := Change{Seq: int64(seq), Tags: make([]uint64, count), Truncated: field&1 == 1}
		for i := range c.Tags {
			c.Tags[i] = binary.BigEndian.Uint64(msg[8*i:])
		}
		msg = msg[8*count:]
		changes = append(changes, c)
	}
	return changes, nil
}
