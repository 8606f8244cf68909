# sluice — build, test, lint, demo, bench.
# Everything a fresh machine needs is installed here (into .tools/, cached between runs).

GO        ?= go
TOOLS     := $(CURDIR)/.tools
BIN       := $(CURDIR)/bin
SLUICE    := $(BIN)/sluice
VERSITYGW := $(TOOLS)/versitygw
STATICCHECK := $(TOOLS)/staticcheck
PUSHGATEWAY := $(TOOLS)/prometheus-pushgateway
TEMPORAL  := $(TOOLS)/temporal
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# The sluice binary and the main module's tests build without cgo (one build
# cache for both); only the interop module (DuckDB) needs it.
export CGO_ENABLED := 0
# Tests that use the AWS SDK never probe the link-local metadata service.
export AWS_EC2_METADATA_DISABLED := true
export SLUICE_VERSITYGW := $(VERSITYGW)
export SLUICE_PUSHGATEWAY := $(PUSHGATEWAY)
export SLUICE_TEMPORAL := $(TEMPORAL)

.PHONY: all build install tools testdata test test-unit test-interop lint demo bench clean fuzz

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(SLUICE) ./cmd/sluice

# make install: sluice into $(go env GOBIN), else the first entry of
# $(go env GOPATH) plus /bin — where go install puts binaries — with the
# version stamped as make build does. No release is published yet, so
# `go install github.com/sluicedata/sluice/cmd/sluice@latest` does not resolve.
install:
	$(GO) install -ldflags '$(LDFLAGS)' ./cmd/sluice
	@dir=$$($(GO) env GOBIN); [ -n "$$dir" ] || dir=$$($(GO) env GOPATH | cut -d: -f1)/bin; \
	  echo "installed $$dir/sluice"; \
	  case ":$$PATH:" in *":$$dir:"*) ;; *) echo "note: $$dir is not on your PATH";; esac

# The Versity S3 gateway (a real S3-compatible server the tests start on loopback), the
# Temporal CLI (its development server runs the distributed executor's tests), staticcheck,
# and the Prometheus Pushgateway (apply -metrics-push is tested against it).
tools: $(VERSITYGW) $(TEMPORAL) $(STATICCHECK) $(PUSHGATEWAY)

$(VERSITYGW):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@v1.8.0

# v1.5.1 is the newest release that installs with go install (later ones have a replace
# directive); compiling it takes ~5 CPU-minutes once, and it is ~240 MiB. Its dev server is
# started by internal/temporaltest with the version check off (no lookup beyond loopback).
$(TEMPORAL):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/temporalio/cli/cmd/temporal@v1.5.1

$(STATICCHECK):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# The Go module proxy does not serve github.com/prometheus/pushgateway, so
# the binary comes from Debian's package, unpacked (no service installed):
# apt-get download needs no root once the package lists exist.
$(PUSHGATEWAY):
	@mkdir -p $(TOOLS)/cache/pushgateway
	cd $(TOOLS)/cache/pushgateway && rm -f *.deb && \
	  { apt-get download prometheus-pushgateway 2>/dev/null || { apt-get update -qq && apt-get download prometheus-pushgateway; }; }
	dpkg-deb -x $(TOOLS)/cache/pushgateway/prometheus-pushgateway_*.deb $(TOOLS)/cache/pushgateway/root
	cp $(TOOLS)/cache/pushgateway/root/usr/bin/prometheus-pushgateway $@

# make test: lint, unit and integration tests (local store and the real S3 gateway),
# then the interop tests where DuckDB reads what sluice wrote.
test: tools lint test-unit test-interop

test-unit:
	$(GO) test -count=1 -timeout 20m ./...

test-interop: build testdata
	cd interop && CGO_ENABLED=1 SLUICE_BIN=$(SLUICE) SLUICE_NODE_PATH=$(NODE_MODULES) $(GO) test -count=1 -timeout 20m ./...

lint: $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd interop && CGO_ENABLED=1 $(GO) vet ./...

# Run each fuzz target for FUZZTIME (their seed corpora already run in make test).
FUZZTIME ?= 2m
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

demo: build
	@./scripts/demo.sh $(SLUICE)

clean:
	rm -rf $(BIN) demo-lake

# The independent Iceberg reader of the interop tests (interop/icebergcheck/
# verify.js) decodes manifests with the npm package avsc (no dependencies),
# fetched once with npm into .tools/cache/node_modules/ (NODE_PATH).
AVSC_VERSION := 5.7.9
NODE_MODULES := $(TOOLS)/cache/node_modules
AVSC         := $(NODE_MODULES)/avsc/package.json

$(AVSC):
	@mkdir -p $(NODE_MODULES)/avsc
	cd $(TOOLS)/cache && npm pack --silent avsc@$(AVSC_VERSION) >/dev/null
	tar -xzf $(TOOLS)/cache/avsc-$(AVSC_VERSION).tgz -C $(NODE_MODULES)/avsc --strip-components=1
	touch $@

# Real third-party Parquet for the interop tests and the bench: vega-datasets'
# flights-3m.parquet (ZSTD, 3M rows), fetched once with npm into .tools/cache/.
VEGA_VERSION := 3.2.1
FLIGHTS      := $(TOOLS)/cache/vega-datasets/flights-3m.parquet
testdata: $(FLIGHTS) $(AVSC)

$(FLIGHTS):
	@mkdir -p $(TOOLS)/cache/vega-datasets
	cd $(TOOLS)/cache && npm pack --silent vega-datasets@$(VEGA_VERSION) >/dev/null
	tar -xzf $(TOOLS)/cache/vega-datasets-$(VEGA_VERSION).tgz -C $(TOOLS)/cache/vega-datasets \
	  --strip-components=2 package/data/flights-3m.parquet
	touch $@

# make bench: sluice next to DuckDB on generated data (cached in .tools/cache/bench/);
# BENCHFLAGS passes flags, e.g. BENCHFLAGS='-large', '-only 1,5 -runs 7' or '-cpuprofile prof'.
BENCHFLAGS ?=
bench: build tools testdata
	cd interop && CGO_ENABLED=1 $(GO) build -o $(BIN)/sluice-bench ./cmd/bench
	$(BIN)/sluice-bench -repo $(CURDIR) -sluice $(SLUICE) $(BENCHFLAGS)
