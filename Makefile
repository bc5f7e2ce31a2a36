# Makefile — the front door. CMake does the building and CTest the testing;
# this file names the usual tasks and keeps the three build trees apart:
#   build/       -O2 -g, gcc         (make, make demo, make bench)
#   build-asan/  ASan + UBSan, gcc   (make check)
#   build-tsan/  ThreadSanitizer, gcc: the threaded tests (make check)
#   build-fuzz/  libFuzzer, clang    (make check, make fuzz)
#
#   make              configure and build build/
#   make deps         check for (as root: install) the tools and libraries
#   make check        build and run every test in build/ and build-asan/, the threaded ones
#                     in build-tsan/, then the fuzzers briefly
#   make soak         the randomized soak, seeds 0..SEEDS-1 (1000); SEED=K replays one seed
#   make demo         ./build/ustcp demo
#   make install      install build/ under PREFIX (/usr/local; DESTDIR too): the headers,
#                     libustcp.a, libustcp.so, ustcp.pc (pkg-config) and the ustcp tool
#   make fuzz         run each fuzzer FUZZ_SECONDS (default 300), keeping its corpus
#   make bench        scripts/bench.sh: ustcp beside the kernel at its best, one Markdown table
#                     (TAP vs veth, perf --sim vs loopback); the cost per ACK of the worst SACK
#                     pattern (bench/sack_cost); a million connections (bench/million,
#                     BENCH_CONNS=N for fewer); a SYN flood in memory (bench/syncookie).
#                     BENCH_QUICK=1: one short run of each
#   make format       clang-format the tree; make format-check only checks
#   make clean        remove the build trees

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
FUZZ_SECONDS ?= 300
CHECK_FUZZ_SECONDS ?= 20
PREFIX ?= /usr/local

CMAKE ?= cmake
CTEST ?= ctest

FORMAT_DIRS := $(wildcard include src tools tests bench examples)
FORMAT_FILES = $(shell find $(FORMAT_DIRS) -name '*.[ch]' -type f 2>/dev/null | sort)

.PHONY: all build deps check check-build check-asan check-tsan check-fuzz demo install fuzz \
	fuzz-build bench format format-check clean

all: build

deps:
	@bash scripts/deps.sh

# Configure once; later builds re-glob the sources on their own.
build: deps
	@test -f build/CMakeCache.txt || $(CMAKE) -S . -B build
	$(CMAKE) --build build -j $(JOBS)

build-asan/CMakeCache.txt:
	$(CMAKE) -S . -B build-asan -DUSTCP_SANITIZE=ON

build-tsan/CMakeCache.txt:
	$(CMAKE) -S . -B build-tsan -DUSTCP_TSAN=ON

fuzz-build: deps
	@test -f build-fuzz/CMakeCache.txt || \
		$(CMAKE) -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DUSTCP_FUZZ=ON \
			-DUSTCP_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)
	$(CMAKE) --build build-fuzz -j $(JOBS)

# Stops at the first build or test that fails. Each ctest run's output is
# kept in <build dir>/check.log; the last line sums up all three.
check: deps
	@rm -f build/check.log build-asan/check.log build-tsan/check.log build-fuzz/check.log
	$(MAKE) --no-print-directory check-build
	$(MAKE) --no-print-directory check-asan
	$(MAKE) --no-print-directory check-tsan
	$(MAKE) --no-print-directory check-fuzz
	@cat build/check.log build-asan/check.log build-tsan/check.log build-fuzz/check.log | \
		awk '/tests passed, [0-9]+ tests? failed out of/ { f += $$4; n += $$NF } \
		     END { printf "check: %d passed, %d failed\n", n - f, f }'

check-build: build
	cd build && set -o pipefail && \
		$(CTEST) --output-on-failure --no-tests=error -j $(CTEST_JOBS) 2>&1 | tee check.log

check-asan: deps build-asan/CMakeCache.txt
	$(CMAKE) --build build-asan -j $(JOBS)
	cd build-asan && set -o pipefail && \
		$(CTEST) --output-on-failure --no-tests=error -j $(CTEST_JOBS) 2>&1 | tee check.log

# Every test that runs threads (label "thread"), under ThreadSanitizer.
check-tsan: deps build-tsan/CMakeCache.txt
	$(CMAKE) --build build-tsan -j $(JOBS)
	cd build-tsan && set -o pipefail && \
		$(CTEST) --output-on-failure --no-tests=error -j $(CTEST_JOBS) -L thread 2>&1 | tee check.log

check-fuzz: fuzz-build
	cd build-fuzz && set -o pipefail && \
		$(CTEST) --output-on-failure --no-tests=ignore -j $(CTEST_JOBS) -L fuzz 2>&1 | tee check.log

demo: build
	./build/ustcp demo

install: build
	DESTDIR="$(DESTDIR)" $(CMAKE) --install build --prefix "$(PREFIX)"

# The randomized soak (tests/sim/test_soak_random.c) on more seeds than check
# runs: each failing seed prints itself and the command that replays it.
.PHONY: soak
soak: build
	@if [ -n "$(SEED)" ]; then \
		USTCP_SOAK_SEED=$(SEED) ./build/tests/sim/test_soak_random soak_env; \
	else \
		USTCP_SOAK_FIRST=0 USTCP_SOAK_COUNT=$(or $(SEEDS),1000) \
			./build/tests/sim/test_soak_random soak_env; \
	fi

# Longer fuzzing than check does: each target for FUZZ_SECONDS, with a corpus
# that grows across runs in build-fuzz/corpus/<target>.
fuzz: fuzz-build
	@set -e; found=0; \
	for f in build-fuzz/fuzz/fuzz_*; do \
		[ -x "$$f" ] || continue; found=1; n=$${f##*/}; s=$${n#fuzz_}; \
		mkdir -p build-fuzz/corpus/$$n build-fuzz/artifacts/$$n; \
		seed=; for d in tests/fuzz/corpus/$$n tests/fuzz/corpus/$$s; do \
			if [ -z "$$seed" ] && [ -d "$$d" ]; then seed=$$d; fi; done; \
		echo "== $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=build-fuzz/artifacts/$$n/ build-fuzz/corpus/$$n $$seed; \
	done; \
	[ $$found = 1 ] || echo "no fuzz targets in tests/fuzz yet"

bench: build
	@bash scripts/bench.sh

format: deps
	clang-format -i $(FORMAT_FILES)

format-check: deps
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-asan build-tsan build-fuzz
