-- +goose Up

-- Leave room in each page for a new version of its rows, so that an update
-- that changes no indexed column (a movie's cast or document, a count) can
-- be a heap-only tuple update and skip every index, the trigram index
-- among them. Pages written from now on keep the room.
ALTER TABLE movies SET (fillfactor = 80);
ALTER TABLE search_counts SET (fillfactor = 80);

-- +goose Down

ALTER TABLE movies RESET (fillfactor);
ALTER TABLE search_counts RESET (fillfactor);
