-- +goose Up

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Every S3 object version the origin has seen, with what became of it. The
-- primary key makes a replayed notification a no-op. In a bucket without
-- versioning the version is "etag:" followed by the object's ETag.
CREATE TABLE ingest_ledger (
    bucket        text        NOT NULL,
    object_key    text        NOT NULL,
    version       text        NOT NULL,
    outcome       text        NOT NULL CHECK (outcome IN ('stored', 'quarantined', 'deleted')),
    revision_id   bigint,
    quarantine_id bigint,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bucket, object_key, version)
);

-- The append-only history of every valid update, kept forever with its raw
-- bytes because a provider cannot send it again.
CREATE TABLE revisions (
    id           bigserial   PRIMARY KEY,
    movie_id     text        NOT NULL,
    provider     text        NOT NULL,
    bucket       text        NOT NULL,
    object_key   text        NOT NULL,
    version      text        NOT NULL,
    written_at   timestamptz NOT NULL,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    content_hash bytea       NOT NULL,
    raw          bytea       NOT NULL,
    UNIQUE (bucket, object_key, version)
);
CREATE INDEX revisions_movie ON revisions (movie_id, id);

-- Objects rejected by validation, kept with the reason.
CREATE TABLE quarantine (
    id          bigserial   PRIMARY KEY,
    provider    text        NOT NULL,
    bucket      text        NOT NULL,
    object_key  text        NOT NULL,
    version     text        NOT NULL,
    reason      text        NOT NULL,
    raw         bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bucket, object_key, version)
);

-- The current state: per movie, the revision with the greatest order key
-- (written_at, object_key, content_hash). document is the JSON the API
-- returns; the *_search columns hold movie.FoldSearch forms for filtering.
CREATE TABLE movies (
    id            text        PRIMARY KEY,
    year          int         NOT NULL,
    title_search  text        COLLATE "C" NOT NULL,
    cast_search   text[]      NOT NULL,
    genres_search text[]      NOT NULL,
    genres        text[]      NOT NULL,
    document      text        NOT NULL,
    written_at    timestamptz NOT NULL,
    object_key    text        NOT NULL,
    content_hash  bytea       NOT NULL,
    revision_id   bigint      NOT NULL,
    change_seq    bigint      NOT NULL
);
CREATE INDEX movies_order ON movies (year, title_search, id);
CREATE INDEX movies_title_trgm ON movies USING gin (title_search gin_trgm_ops);
CREATE INDEX movies_cast ON movies USING gin (cast_search);
CREATE INDEX movies_genres ON movies USING gin (genres_search);

-- The change feed: one row per change of a movie's current state, numbered
-- in commit order within this region.
CREATE TABLE changes (
    seq          bigserial   PRIMARY KEY,
    movie_id     text        NOT NULL,
    revision_id  bigint      NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now()
);

-- API keys, stored only as SHA-256 hashes of the secret.
CREATE TABLE api_keys (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    hash       bytea       NOT NULL UNIQUE,
    scopes     text[]      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

-- +goose Down

DROP TABLE api_keys, changes, movies, quarantine, revisions, ingest_ledger;
