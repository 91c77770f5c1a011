# Provenant — see README.md. Every target works from a fresh clone.
GO       ?= go
BIN      := bin/provenant
PKGS     := ./...
FUZZTIME ?= 10s
STATICCHECK_VERSION ?= v0.8.2

.PHONY: all build test test-race run bench bench-compare fuzz lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/provenant

test:
	$(GO) test -count=1 -timeout 45m $(PKGS)

test-race:
	$(GO) test -race -count=1 -timeout 60m $(PKGS)

run: build
	./scripts/run.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-compare: build
	./bench/compare.sh

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

lint:
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	"$$($(GO) env GOPATH)/bin/staticcheck" $(PKGS)

clean:
	rm -rf bin .data
