-- +goose Up

-- Where the current reconciliation pass over a bucket has got to, so a
-- restarted origin resumes the listing instead of starting over.
CREATE TABLE reconcile_progress (
    bucket        text        PRIMARY KEY,
    after_key     text        NOT NULL,
    after_version text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down

DROP TABLE reconcile_progress;
