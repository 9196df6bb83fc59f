# runnerset-apiserver. `make run` brings up the whole system on this machine; `make test` runs
# the unit tests and the e2e suite against a real local control plane.
SHELL := /usr/bin/env bash -o pipefail
BIN := $(CURDIR)/_output/bin
GO ?= go
E2E_TIMEOUT ?= 20m

.PHONY: all
all: build

.PHONY: tools
tools: ## Build the pinned control plane, kubectl, kwok and helm into _output/bin (cached).
	bash hack/tools/build.sh

.PHONY: build
build: ## Build our binaries into _output/bin.
	$(GO) build -o $(BIN)/runnerset-apiserver ./cmd/apiserver
	$(GO) build -o $(BIN)/local-up ./cmd/local-up
	$(GO) build -o $(BIN)/github-simulator ./cmd/github-simulator

.PHONY: generate
generate: ## Regenerate deepcopy, conversion, defaults, OpenAPI and clients.
	hack/update-codegen.sh

.PHONY: verify
verify: ## Fail on stale generated code, untidy go.mod, unformatted or vet-failing code.
	hack/verify-codegen.sh
	hack/verify-gomod.sh
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./test/...

.PHONY: test-unit
test-unit: ## Unit tests: no cluster (-short skips the tests that start one).
	$(GO) test -short ./...

.PHONY: test-e2e
test-e2e: tools build ## The local system's own tests, the charts' rendering tests (need helm), then the e2e suite, on real control planes.
	$(GO) test -count=1 ./pkg/localsystem/... ./pkg/runneremulator/... ./cmd/github-simulator/... ./charts/...
	$(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/... -args -bin-dir=$(BIN)

.PHONY: test
test: test-unit test-e2e ## Everything CI runs.

.PHONY: run
run: tools build ## The whole system on 127.0.0.1 until Ctrl-C.
	$(BIN)/local-up --bin-dir=$(BIN) --dir=$(CURDIR)/_output/local --server-binary=$(BIN)/runnerset-apiserver \
		--simulator-binary=$(BIN)/github-simulator \
		--manifests=$(CURDIR)/artifacts/example --samples=$(CURDIR)/artifacts/example/runnersets

JOBS ?= 20
DURATION ?= 20s
.PHONY: demo
demo: ## While `make run` runs: queue JOBS jobs (default 20) on the sample RunnerSet team-a/linux-small.
	@url=$$(cat _output/local/simulator.url 2>/dev/null) || { echo "make run is not running (no _output/local/simulator.url)"; exit 1; }; \
	curl -sf -XPOST "$$url/_sim/jobs" -d '{"labels":["linux-small"],"owner":"team-a","repository":"app","duration":"$(DURATION)","count":$(JOBS)}' >/dev/null && \
	echo "queued $(JOBS) jobs of $(DURATION) for runs-on: linux-small in team-a/app; watch: kubectl get runners -n team-a -w"

.PHONY: clean
clean:
	rm -rf _output/local _output/e2e

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
