# sluice — build, test, lint, demo, bench.
# Everything a fresh machine needs is installed here (into .tools/, cached between runs).

GO        ?= go
TOOLS     := $(CURDIR)/.tools
BIN       := $(CURDIR)/bin
SLUICE    := $(BIN)/sluice
VERSITYGW := $(TOOLS)/versitygw
STATICCHECK := $(TOOLS)/staticcheck
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Tests that use the AWS SDK never probe the link-local metadata service.
export AWS_EC2_METADATA_DISABLED := true
export SLUICE_VERSITYGW := $(VERSITYGW)

.PHONY: all build tools test test-unit test-interop lint demo bench clean fuzz

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(SLUICE) ./cmd/sluice

# The Versity S3 gateway (a real S3-compatible server the tests start on loopback) and staticcheck.
tools: $(VERSITYGW) $(STATICCHECK)

$(VERSITYGW):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# make test: lint, unit and integration tests (local store and the real S3 gateway),
# then the interop tests where DuckDB reads what sluice wrote.
test: tools lint test-unit test-interop

test-unit:
	$(GO) test -count=1 -timeout 20m ./...

test-interop: build
	cd interop && SLUICE_BIN=$(SLUICE) $(GO) test -count=1 -timeout 20m ./...

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd interop && $(GO) vet ./...

# Run each fuzz target for FUZZTIME (their seed corpora already run in make test).
FUZZTIME ?= 2m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build
	./scripts/demo.sh $(SLUICE)

clean:
	rm -rf $(BIN) demo-lake
