# Two commands work on a fresh machine with only the Swift toolchain:
#   make run    runs jobrunner on the default config.json
#   make test   lints, builds with warnings as errors, and runs every test
#   make release the README's install build (CI builds it too: a release-only break fails CI)
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_FILES = $(shell git ls-files '*.swift' | grep -v '\.pb\.swift$$')

.PHONY: deps run test lint format release samples bench

# libzstd-dev (snapshots) and pkg-config (how SwiftPM finds it), from Debian; chromium for
# the tests that render the live page and the HTML report (JOBRUNNER_SKIP_BROWSER=1 skips
# them and the install).
deps:
	@pkg-config --exists libzstd 2>/dev/null || { \
		echo "Installing libzstd-dev and pkg-config (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libzstd-dev pkg-config; }
	@[ "$$JOBRUNNER_SKIP_BROWSER" = 1 ] || command -v chromium >/dev/null || { \
		echo "Installing chromium (apt-get) for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# jobrunner on the default config.json under its watchdog: 127.0.0.1:8080, state under ./state.
run: deps
	$(SWIFT) build --product jobshim
	$(SWIFT) run jobrunner start --config config.json

# The suites that load the machine on purpose (hundreds of cancels beside two busy loops,
# 800 jobs under 256 descriptors, a gigabyte of output) run after the others, so that
# their load does not reach the timing of the other suites' figures.
LOAD_SUITES = ContainmentTests|ExhaustionTests

test: deps lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip '$(LOAD_SUITES)'
	$(SWIFT) test --filter '$(LOAD_SUITES)'

lint:
	$(SWIFT) format lint --strict $(SWIFT_FILES)
	@if python3 -c 'import openapi_spec_validator' 2>/dev/null; then \
		python3 -m openapi_spec_validator openapi.yaml; \
	else echo "openapi-spec-validator not installed (pip): openapi.yaml not checked against OpenAPI 3.1"; fi

format:
	$(SWIFT) format format -i $(SWIFT_FILES)

release: deps
	$(SWIFT) build -c release

samples: deps
	scripts/update-samples.sh

# Every benchmark of README › Performance (release builds; takes about an hour, most of it
# the first build of Benchmarks/ and the 1M-job service runs).
bench: release
	scripts/bench-offline.sh 1000000 7
	python3 scripts/bench-service.py --runs 5
	python3 scripts/bench-scale.py --runs 5
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark
