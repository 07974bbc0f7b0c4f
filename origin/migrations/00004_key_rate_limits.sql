-- +goose Up

-- Requests per second each edge allows a key, and the burst above that rate.
ALTER TABLE api_keys
    ADD COLUMN rate_per_second int NOT NULL DEFAULT 100 CHECK (rate_per_second > 0),
    ADD COLUMN burst           int NOT NULL DEFAULT 200 CHECK (burst > 0);

-- +goose Down

ALTER TABLE api_keys DROP COLUMN rate_per_second, DROP COLUMN burst;
