-- +goose Up

-- One row per movie and each of its distinct folded cast members (kind 'c')
-- and genres (kind 'g'), keyed in result order within a term. A page of one
-- term is then a range scan of the primary key, and a term's movies that
-- pass another filter are counted by an index-only scan. genres_search is
-- carried in the index so that a cast member's movies are filtered by genre
-- without visiting movies. Ingest keeps the rows in step with movies in the same
-- transaction (origin/search_index.go).
--
-- NOTE: a btree entry is limited to about 2,700 bytes, so a cast member
-- whose name and movie title together exceed that cannot be indexed and
-- fails its ingest batch, as an overlong title already fails movies_order.
CREATE TABLE search_postings (
    kind          "char" NOT NULL CHECK (kind IN ('c', 'g')),
    term          text   COLLATE "C" NOT NULL,
    year          int    NOT NULL,
    title_search  text   COLLATE "C" NOT NULL,
    movie_id      text   NOT NULL,
    genres_search text[] NOT NULL,
    PRIMARY KEY (kind, term, year, title_search, movie_id) INCLUDE (genres_search)
);

-- Exact numbers of movies per year: of all movies (kind 'a', term ''), per
-- folded cast member ('c'), per folded genre ('g') and per folded title
-- substring of one to five characters ('t'). Each movie is counted once per
-- term however often the term occurs in it. A total of these filters alone is then a
-- sum over at most one row per year. Five characters is the limit that
-- origin/search_index.go uses too (maxCountedSubstring).
CREATE TABLE search_counts (
    kind   "char" NOT NULL CHECK (kind IN ('a', 'c', 'g', 't')),
    term   text   COLLATE "C" NOT NULL,
    year   int    NOT NULL,
    movies int    NOT NULL,
    PRIMARY KEY (kind, term, year)
);

INSERT INTO search_postings (kind, term, year, title_search, movie_id, genres_search)
SELECT DISTINCT 'c'::"char", c.term, m.year, m.title_search, m.id, m.genres_search
FROM movies m, unnest(m.cast_search) AS c(term)
UNION ALL
SELECT DISTINCT 'g'::"char", g.term, m.year, m.title_search, m.id, m.genres_search
FROM movies m, unnest(m.genres_search) AS g(term);

INSERT INTO search_counts (kind, term, year, movies)
SELECT 'a', '', year, count(*) FROM movies GROUP BY year;

INSERT INTO search_counts (kind, term, year, movies)
SELECT kind, term, year, count(*) FROM search_postings GROUP BY kind, term, year;

INSERT INTO search_counts (kind, term, year, movies)
SELECT 't', s.term, m.year, count(*)
FROM movies m,
     LATERAL (SELECT DISTINCT substr(m.title_search, i, k) AS term
              FROM generate_series(1, char_length(m.title_search)) AS i,
                   generate_series(1, 5) AS k
              WHERE i + k - 1 <= char_length(m.title_search)) AS s
GROUP BY s.term, m.year;

-- search_postings replaces the GIN indexes on the arrays: at a million
-- movies PostgreSQL 15 preferred walking movies_order to using them, and a
-- GIN index cannot return matches in result order.
DROP INDEX movies_cast;
DROP INDEX movies_genres;

-- +goose Down

CREATE INDEX movies_cast ON movies USING gin (cast_search);
CREATE INDEX movies_genres ON movies USING gin (genres_search);
DROP TABLE search_counts, search_postings;
