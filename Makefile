# Blokauto: the two commands a newcomer needs are `make run` and `make test`.
# Everything else (fuzz, bench, sim) is a longer run behind its own target.
.PHONY: all deps build run test fuzz bench sim format clean

JOBS ?= $(shell nproc)
RELEASE := build/release
TEST := build/test
FUZZ_SECONDS ?= 60

all: build

deps:
	@./scripts/deps.sh

build: deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(RELEASE) -j $(JOBS)

# The main job: a single-validator development network in ./devnet (created on first run and
# filled with demo vehicles from SEED, continued after), with the API and web UI on
# http://127.0.0.1:8080. Ctrl-C stops it.
DEVNET ?= devnet
HTTP ?= 127.0.0.1:8080
SEED ?= 42
run: build
	./$(RELEASE)/blokauto devnet --data $(DEVNET) --http $(HTTP) --demo --seed $(SEED)

# Test build: clang with AddressSanitizer and UndefinedBehaviorSanitizer, fuzz targets
# included (each runs a short smoke inside ctest). Exits non-zero on any failure.
test: deps
	cmake -S . -B $(TEST) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DBLOK_SANITIZE=ON -DBLOK_FUZZ=ON
	cmake --build $(TEST) -j $(JOBS)
	cd $(TEST) && ctest --output-on-failure -j $(JOBS)

# Each fuzz target for FUZZ_SECONDS (default 60), starting from tests/fuzz/corpus.
fuzz: deps
	cmake -S . -B $(TEST) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DBLOK_SANITIZE=ON -DBLOK_FUZZ=ON
	cmake --build $(TEST) -j $(JOBS)
	@set -e; for f in $(TEST)/fuzz_*; do \
	  name=$${f##*/fuzz_}; echo "== fuzz $$name for $(FUZZ_SECONDS) s"; \
	  bash tests/fuzz/run.sh $$f tests/fuzz/corpus/$$name $(FUZZ_SECONDS); done

# The deterministic cluster simulation (tests/sim/sim.c) over SEEDS seeds, in the sanitizer
# build; a failing seed prints the command that replays it. `make test` runs 500.
SEEDS ?= 2000
FIRST ?= 1
sim: deps
	cmake -S . -B $(TEST) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DBLOK_SANITIZE=ON -DBLOK_FUZZ=ON
	cmake --build $(TEST) -j $(JOBS) --target sim
	./$(TEST)/sim --seeds $(SEEDS) --first $(FIRST)

bench: build
	@set -e; for b in $(RELEASE)/bench_*; do echo "== $$b"; $$b; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
