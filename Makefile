# The two commands a newcomer needs: `make run` starts the whole local stack
# on the movie data set, `make test` runs every test.

GO ?= go
DATA ?= ../shared/data/wikipedia-movie-data
STATE ?= .state

.PHONY: run test build bench-ingest bench-edge bench-invalidation postgres clean

run: postgres
	$(GO) run ./cmd/localstack -data '$(DATA)' -state '$(STATE)'

test: postgres
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

bench-ingest: postgres
	$(GO) run ./cmd/ingestbench -data '$(DATA)'

bench-invalidation: postgres
	$(GO) run ./cmd/invalidationbench -data '$(DATA)'

bench-edge: postgres
	DATA='$(DATA)' scripts/bench-edge.sh

build:
	$(GO) build -o bin/ ./cmd/...

postgres:
	@scripts/install-postgres.sh

clean:
	rm -rf bin '$(STATE)'
