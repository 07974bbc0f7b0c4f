package origin

import (
	"fmt"
	"time"

	"moviequery/internal/announce"
	"moviequery/internal/gossip"
)

// startGossip joins the region's gossip cluster, when configured, and
// announces every change this process commits from then on. Edges that
// miss an announcement read the change from the feed.
func (s *Server) startGossip() error {
	if s.cfg.Gossip == nil {
		return nil
	}

	cfg := *s.cfg.Gossip
	cfg.Logger = s.logger
	member, err := gossip.Start(cfg)
	if err != nil {
		return fmt.Errorf("joining the gossip cluster: %w", err)
	}
	s.member = member
	s.store.OnCommit(s.announce)
	return nil
}

// announce gossips committed changes, packed into as few messages as fit.
func (s *Server) announce(changes []Change) {
	packed := make([]announce.Change, len(changes))
	for i, c := range changes {
		packed[i] = announce.Change{Seq: c.Seq, Tags: announce.Hashes(c.Tags)}
	}

	for _, msg := range announce.Pack(packed, gossip.MaxMessageBytes) {
		if err := s.member.Broadcast(msg); err != nil {
			s.logger.Error("announcing changes; edges will read them from the change feed", "error", err)
		}
	}
	s.metrics.announced.Add(float64(len(changes)))
}

// leaveGossip announces to the cluster that this origin leaves.
func (s *Server) leaveGossip() {
	if s.member == nil {
		return
	}
	if err := s.member.Leave(2 * time.Second); err != nil {
		s.logger.Warn("leaving the gossip cluster", "error", err)
	}
}

// GossipAddress returns the host:port where this origin gossips, for
// edges to join through, or "" without gossip.
func (s *Server) GossipAddress() string {
	if s.member == nil {
		return ""
	}
	return s.member.Address()
}
