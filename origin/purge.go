package origin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"moviequery/internal/apierror"
	"moviequery/internal/movie"
	"moviequery/internal/query"
	"moviequery/internal/tags"
)

// RoutePurges takes purge requests from edges and from other regions'
// origins, and lists past purges.
const RoutePurges = "/internal/v1/purges"

// Purge scopes.
const (
	PurgeMovie = "movie" // one movie: its document and every search it could appear in
	PurgeTag   = "tag"   // every response that depends on one tag
	PurgeAll   = "all"   // every cached response
)

// PurgeRequest is a request to every edge of every region to drop cached
// responses.
// ID makes it idempotent: a repeated or forwarded request with the same
// ID changes nothing. KeyID names the API key that asked; Region is where
// it was asked; Forwarded is set on copies sent to other regions.
type PurgeRequest struct {
	ID        string `json:"id"`
	Scope     string `json:"scope"`
	Target    string `json:"target"`
	KeyID     string `json:"key_id"`
	Region    string `json:"region"`
	Forwarded bool   `json:"forwarded,omitempty"`
}

// Purge is a purge recorded in a region's audit log.
type Purge struct {
	ID          string    `json:"id"`
	Scope       string    `json:"scope"`
	Target      string    `json:"target"`
	KeyID       string    `json:"key_id"`
	Region      string    `json:"region"`
	RequestedAt time.Time `json:"requested_at"`
	ChangeSeq   int64     `json:"change_seq"`
}

var purgeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validate checks a request and normalizes its target: a tag in the form
// changes carry it.
func (r *PurgeRequest) validate() error {
	if r.ID != "" && !purgeID.MatchString(r.ID) {
		return &query.Error{Param: "Idempotency-Key", Message: "must be 1 to 64 letters, digits, '.', '_' or '-'"}
	}
	switch r.Scope {
	case PurgeMovie:
		if !movie.ValidID(r.Target) {
			return &query.Error{Param: "target", Message: "must be a movie id, as in a movie's \"id\" field"}
		}
	case PurgeTag:
		tag, err := tags.Normalize(r.Target)
		if err != nil {
			return &query.Error{Param: "target", Message: err.Error()}
		}
		r.Target = tag
	case PurgeAll:
		if r.Target != "" {
			return &query.Error{Param: "target", Message: `must be empty when scope is "all"`}
		}
	default:
		return &query.Error{Param: "scope", Message: `must be "movie", "tag" or "all"`}
	}
	return nil
}

// ErrPurgeConflict is returned for a purge whose id names an earlier purge
// of another scope or target.
var ErrPurgeConflict = errors.New("purge id already used")

// Purge records a purge in the audit log and in the change feed, once per
// ID, and returns it with whether this call recorded it. A movie purge
// touches every tag of the movie's current values, so that its document
// and every search it could appear in are dropped.
func (s *Store) Purge(ctx context.Context, r PurgeRequest) (Purge, bool, error) {
	if err := r.validate(); err != nil {
		return Purge{}, false, err
	}

	var p Purge
	var created bool
	var purged []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if purged, err = purgeTags(ctx, tx, r); err != nil {
			return err
		}
		p, created, err = recordPurge(ctx, tx, r, purged)
		return err
	})
	if err == nil && created {
		s.notifyCommitted([]Change{{Seq: p.ChangeSeq, PurgeID: p.ID, Tags: purged}})
	}
	return p, created, err
}

// purgeTags returns the tags a valid request purges.
func purgeTags(ctx context.Context, tx pgx.Tx, r PurgeRequest) ([]string, error) {
	switch r.Scope {
	case PurgeAll:
		return []string{tags.All}, nil
	case PurgeTag:
		return []string{r.Target}, nil
	}

	f := tags.Fields{ID: r.Target}
	err := tx.QueryRow(ctx, `SELECT year, title_search, cast_search, genres_search FROM movies WHERE id = $1`, r.Target).
		Scan(&f.Year, &f.Title, &f.Cast, &f.Genres)
	if errors.Is(err, pgx.ErrNoRows) {
		return []string{tags.Movie(r.Target)}, nil // only its cached 404
	}
	if err != nil {
		return nil, fmt.Errorf("reading movie %s to purge: %w", r.Target, err)
	}
	return tags.OfMovie(f), nil
}

func recordPurge(ctx context.Context, tx pgx.Tx, r PurgeRequest, purged []string) (Purge, bool, error) {
	inserted, err := tx.Exec(ctx, `
		INSERT INTO purges (id, scope, target, key_id, region, change_seq) VALUES ($1, $2, $3, $4, $5, 0)
		ON CONFLICT (id) DO NOTHING`, r.ID, r.Scope, r.Target, r.KeyID, r.Region)
	if err != nil {
		return Purge{}, false, fmt.Errorf("recording purge %s: %w", r.ID, err)
	}
	created := inserted.RowsAffected() == 1

	if created {
		if err := lockChangeFeed(ctx, tx); err != nil {
			return Purge{}, false, err
		}
		_, err = tx.Exec(ctx, `
			WITH c AS (INSERT INTO changes (purge_id, tags) VALUES ($1, $2) RETURNING seq)
			UPDATE purges SET change_seq = c.seq FROM c WHERE purges.id = $1`, r.ID, purged)
		if err != nil {
			return Purge{}, false, fmt.Errorf("announcing purge %s in the change feed: %w", r.ID, err)
		}
	}

	var p Purge
	err = tx.QueryRow(ctx, `SELECT id, scope, target, key_id, region, requested_at, change_seq FROM purges WHERE id = $1`, r.ID).
		Scan(&p.ID, &p.Scope, &p.Target, &p.KeyID, &p.Region, &p.RequestedAt, &p.ChangeSeq)
	if err != nil {
		return Purge{}, false, fmt.Errorf("reading purge %s: %w", r.ID, err)
	}
	if p.Scope != r.Scope || p.Target != r.Target {
		return Purge{}, false, fmt.Errorf("%w: Idempotency-Key %q already named a purge of scope %q and target %q; use a new key for another purge", ErrPurgeConflict, r.ID, p.Scope, p.Target)
	}
	return p, created, nil
}

// Purges returns the most recent purges, newest first.
func (s *Store) Purges(ctx context.Context, limit int) ([]Purge, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, scope, target, key_id, region, requested_at, change_seq FROM purges
		ORDER BY requested_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing purges: %w", err)
	}
	purges := []Purge{}
	var p Purge
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.Scope, &p.Target, &p.KeyID, &p.Region, &p.RequestedAt, &p.ChangeSeq}, func() error {
		purges = append(purges, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing purges: %w", err)
	}
	return purges, nil
}

// PurgeResponse is the response to a purge request: the recorded purge,
// whether this request recorded it, and what each region did.
type PurgeResponse struct {
	Purge   Purge         `json:"purge"`
	Created bool          `json:"created"`
	Regions []RegionPurge `json:"regions"`
}

// RegionPurge is the outcome of a purge in one region.
type RegionPurge struct {
	Region string `json:"region"`
	Status string `json:"status"` // "purged" or "failed"
	Error  string `json:"error,omitempty"`
}

// purger records purges and forwards them to the other regions' origins.
type purger struct {
	store  *Store
	region string
	peers  map[string]string // region name to origin base URL
	token  string            // sent to peers as a bearer token
	client *http.Client
}

// maxPurgeBody bounds a purge request's JSON.
const maxPurgeBody = 4 << 10

func (a *api) purge(w http.ResponseWriter, r *http.Request) {
	var req PurgeRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPurgeBody+1))
	if err == nil && len(body) > maxPurgeBody {
		err = &query.Error{Param: "body", Message: "must be at most 4 KB of JSON"}
	}
	if err == nil {
		if jsonErr := json.Unmarshal(body, &req); jsonErr != nil {
			err = &query.Error{Param: "body", Message: `must be a JSON object such as {"scope": "movie", "target": "<movie id>"}: ` + jsonErr.Error()}
		}
	}
	if err != nil {
		a.write(r.Context(), w, r, nil, err)
		return
	}

	response, status, err := a.purger.purge(r.Context(), req)
	if err != nil {
		a.write(r.Context(), w, r, nil, err)
		return
	}
	out, _ := json.Marshal(response)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(out)
}

// purge records the purge here and, unless it was forwarded, forwards it to
// every peer region. The status is 502 when a peer failed: the purge holds
// where it succeeded, and repeating the request with the same id is safe.
func (p *purger) purge(ctx context.Context, req PurgeRequest) (PurgeResponse, int, error) {
	if req.ID == "" {
		req.ID = newPurgeID()
	}
	if req.Region == "" {
		req.Region = p.region
	}

	recorded, created, err := p.store.Purge(ctx, req)
	if err != nil {
		return PurgeResponse{}, 0, err
	}
	response := PurgeResponse{Purge: recorded, Created: created, Regions: []RegionPurge{{Region: p.region, Status: "purged"}}}
	if req.Forwarded {
		return response, http.StatusOK, nil
	}

	status := http.StatusOK
	for _, outcome := range p.forward(ctx, req) {
		response.Regions = append(response.Regions, outcome)
		if outcome.Status != "purged" {
			status = http.StatusBadGateway
		}
	}
	return response, status, nil
}

func newPurgeID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// forward sends the purge to each peer region, in region order.
func (p *purger) forward(ctx context.Context, req PurgeRequest) []RegionPurge {
	regions := make([]string, 0, len(p.peers))
	for region := range p.peers {
		regions = append(regions, region)
	}
	sort.Strings(regions)

	req.Forwarded = true
	outcomes := make([]RegionPurge, len(regions))
	for i, region := range regions {
		outcomes[i] = RegionPurge{Region: region, Status: "purged"}
		if err := p.send(ctx, p.peers[region], req); err != nil {
			outcomes[i].Status, outcomes[i].Error = "failed", err.Error()
		}
	}
	return outcomes
}

func (p *purger) send(ctx context.Context, baseURL string, req PurgeRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()

	body, _ := json.Marshal(req)
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+RoutePurges, bytes.NewReader(body))
	if err != nil {
		return err
	}
	httpReq.Header.Set("Content-Type", "application/json")
	if p.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+p.token)
	}

	resp, err := p.client.Do(httpReq)
	if err != nil {
		return fmt.Errorf("forwarding the purge: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body apierror.Body
		json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body)
		return fmt.Errorf("the region's origin responded %d: %s", resp.StatusCode, body.Error.Message)
	}
	return nil
}

func (a *api) listPurges(ctx context.Context, r *http.Request) ([]byte, error) {
	limit, err := feedParam(r, "limit", 100)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		return nil, &query.Error{Param: "limit", Message: "must be between 1 and 1000"}
	}
	purges, err := a.store.Purges(ctx, int(limit))
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"purges": purges})
}
