# twofold — one plain Makefile.  See docs/STYLE.md for the layout rules.
#
#   make            build ./twofold
#   make check      build, run every test; last line "N passed, N failed"
#   make asan       the same tests on an ASan+UBSan build (in build-asan/)
#   make tsan       the same tests on a ThreadSanitizer build (build-tsan/)
#   make fuzz       build libFuzzer targets (clang) and run each FUZZ_SECS;
#                   new inputs go to build-fuzz/corpus, crashes to
#                   build-fuzz/crash (copy them into tests/fuzz/corpus)
#   make demo       back up /usr/share/doc, restore it, compare, print sizes
#   make deps       install the Debian packages (as root) or print the line

PKGS     := libsodium libcrypto libzstd libcurl
CC       ?= cc
BUILD    ?= build
WERROR   ?=
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wcast-qual -Wpointer-arith -Wundef \
            -Wwrite-strings -Wswitch-enum -Wno-switch-enum $(WERROR)
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CPPFLAGS += -D_GNU_SOURCE -Isrc
CFLAGS   += -std=c11 $(OPT) $(WARN) $(HARDEN) $(SAN) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pie -Wl,-z,relro,-z,now $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/replay/%)
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
HEADERS  := $(sort $(wildcard src/*/*.h))
HDR_CHK  := $(HEADERS:%.h=$(BUILD)/hdrcheck/%.ok)

.PHONY: all check asan tsan fuzz demo deps clean bench bench-quick test-bins

all: twofold

twofold: $(BUILD)/twofold
	cp $< $@

$(BUILD)/twofold: $(LIB_OBJ) $(CLI_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c $(HEADERS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# Fuzz targets built with a replay main (any compiler) so make check can
# run the saved corpora; `make fuzz` builds the real libFuzzer binaries.
$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(LIB_OBJ) $(LDLIBS)

# Test-only programs (forgers, proofs) that CLI tests run from $(BUILD)/tools.
$(BUILD)/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/tools $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# bench/stages: each stage of a first backup alone (bench/run.sh).
$(BUILD)/bench/%: bench/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS)

# Every public header must compile on its own.
$(BUILD)/hdrcheck/%.ok: %.h
	@mkdir -p $(dir $@)
	@echo '#include "$(patsubst src/%,%,$<)"' | $(CC) $(CPPFLAGS) $(CFLAGS) -x c -fsyntax-only -
	@touch $@

test-bins: $(BUILD)/twofold $(UNIT_BIN) $(REPLAY_BIN) $(HDR_CHK) $(TOOL_BIN) $(BUILD)/bench/stages

check:
	@sh .ci/deps.sh
	$(MAKE) test-bins
	@BUILD=$(BUILD) sh tests/run.sh

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  HARDEN="-fPIE" check

# A ThreadSanitizer build runs the tests that drive the threaded code:
# every unit test (the worker pool, concurrent puts, the copies store) and
# the CLI tests whose backup, restore, check, sync and prune pipelines
# share a repository between threads, locally and on two copies.  (The
# whole suite under TSan is `make tsan TSAN_TESTS=`.)
TSAN_TESTS ?= unit/ cli/roundtrip cli/dedup cli/crash cli/integrity cli/copies cli/prune-concurrent cli/resume
tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1 -g" SAN="-fsanitize=thread" HARDEN="-fPIE" \
	  TWOFOLD_TESTS="$(TSAN_TESTS)" check

FUZZ_BUILD := build-fuzz
FUZZ_SECS  ?= 20
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g" \
	  SAN="-fsanitize=fuzzer-no-link,address,undefined" HARDEN="-fPIE" $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
	    $$(pkg-config --cflags $(PKGS)) -o $(FUZZ_BUILD)/$$n $$f \
	    $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o) $(LDLIBS); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/crash; \
	  echo "fuzz $$n for $(FUZZ_SECS)s"; \
	  $(FUZZ_BUILD)/$$n -max_total_time=$(FUZZ_SECS) -max_len=65536 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash/$$n- \
	    $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n >$(FUZZ_BUILD)/$$n.log 2>&1 \
	    || { tail -40 $(FUZZ_BUILD)/$$n.log; exit 1; }; \
	done

demo:
	@sh .ci/deps.sh
	$(MAKE) twofold
	sh tests/demo.sh

deps:
	@sh .ci/deps.sh

bench bench-quick: twofold $(BUILD)/bench/stages
	sh bench/run.sh $(if $(filter bench-quick,$@),--quick,)

clean:
	rm -rf build build-asan build-tsan build-fuzz build-prof twofold
