-- +goose Up

-- Each change now carries what edges and the title count folder need: the
-- movie's year and folded title before and after (old_* are NULL for a new
-- movie), and the cache tags the change touches. A purge is a change too,
-- with no movie: it names the purge and carries the tags it invalidates.
ALTER TABLE changes
    ALTER COLUMN movie_id DROP NOT NULL,
    ALTER COLUMN revision_id DROP NOT NULL,
    ADD COLUMN old_year  int,
    ADD COLUMN old_title text COLLATE "C",
    ADD COLUMN new_year  int,
    ADD COLUMN new_title text COLLATE "C",
    ADD COLUMN tags      text[] NOT NULL DEFAULT '{}',
    ADD COLUMN purge_id  text;

-- Title substring counts (kind 't' in search_counts) are folded in from the
-- change feed after commit rather than in each ingest transaction: they are
-- about sixty rows per movie. folded_seq is the last change folded in;
-- readers add the changes after it themselves (origin/title_counts.go).
CREATE TABLE title_count_fold (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    folded_seq bigint  NOT NULL
);
INSERT INTO title_count_fold (folded_seq) SELECT coalesce(max(seq), 0) FROM changes;

-- Purges requested by operators, in this region or forwarded from another.
-- The id makes a repeated or forwarded request a no-op.
CREATE TABLE purges (
    id           text        PRIMARY KEY,
    scope        text        NOT NULL CHECK (scope IN ('movie', 'tag', 'all')),
    target       text        NOT NULL,
    key_id       text        NOT NULL,
    region       text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    change_seq   bigint      NOT NULL
);

-- +goose Down

DROP TABLE purges, title_count_fold;
DELETE FROM changes WHERE movie_id IS NULL;
ALTER TABLE changes
    DROP COLUMN old_year, DROP COLUMN old_title, DROP COLUMN new_year, DROP COLUMN new_title,
    DROP COLUMN tags, DROP COLUMN purge_id,
    ALTER COLUMN movie_id SET NOT NULL,
    ALTER COLUMN revision_id SET NOT NULL;
