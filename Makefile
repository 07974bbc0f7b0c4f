# The two commands a newcomer needs: `make run` starts the whole local stack
# on the movie data set, `make test` runs every test.

GO ?= go
DATA ?= ../shared/data/wikipedia-movie-data
STATE ?= .state

.PHONY: run test build bench-ingest bench-edge bench-edge-miss bench-edge-memory bench-search bench-invalidation postgres clean

# The stack runs as its own binary rather than under go run, which reports
# a clean stop by Ctrl-C as a failure.
run: postgres
	$(GO) build -o bin/localstack ./cmd/localstack
	bin/localstack -data '$(DATA)' -state '$(STATE)'

test: postgres
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

bench-ingest: postgres
	$(GO) run ./cmd/ingestbench -data '$(DATA)'

bench-invalidation: postgres
	$(GO) run ./cmd/invalidationbench -data '$(DATA)'

bench-edge: postgres
	DATA='$(DATA)' scripts/bench-edge.sh

# Cache misses per query kind under wrk, 8 connections.
bench-edge-miss: postgres
	DATA='$(DATA)' scripts/bench-edge-miss.sh

# The edge's heap and resident memory with 100,000 cached answers.
bench-edge-memory: postgres
	$(GO) build -o bin/ ./cmd/edge ./cmd/edgebench
	bin/edgebench -mode memory -data '$(DATA)' -edge-binary bin/edge

# The origin's search on the data set and on a generated million movies
# (SETS=real for the data set alone; the million takes about 12 minutes to
# load, or none with a kept SEARCHBENCH_DIR).
SETS ?= real,generated
bench-search: postgres
	$(GO) run ./cmd/searchbench -data '$(DATA)' -sets '$(SETS)' $(if $(SEARCHBENCH_DIR),-dir '$(SEARCHBENCH_DIR)')

build:
	$(GO) build -o bin/ ./cmd/...

postgres:
	@scripts/install-postgres.sh

clean:
	rm -rf bin '$(STATE)'
