# registry-rca: the two commands of the README quick start, and their parts.
#   make run    install dependencies, build, run the daemon on the bundled sample logs
#   make test   install dependencies, build, run every test (what .ci/run does)
BUILD ?= build
JOBS ?= $(shell nproc)
PORT ?= 9479

.PHONY: deps test-deps build build-tests run test format format-check bench clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) --target registry-rca -j$(JOBS)

build-tests: test-deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	@scripts/run-sample.sh $(BUILD)/exporter/registry-rca $(PORT)

test: build-tests
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

bench: build-tests
	@bench/run.sh

clean:
	@rm -rf $(BUILD)
