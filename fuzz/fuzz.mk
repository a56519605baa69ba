# Fuzzing the .npy/.npz reader with libFuzzer (included by the Makefile).
#
#   make fuzz                   builds build/fuzz/fuzz_npz, runs it FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600
#
# The seeds in fuzz/corpus/ (small files numpy wrote, made by
# tests/fixtures/make_npz_fixtures.py) are read but never modified; what
# the fuzzer learns goes to build/fuzz/corpus. A crash leaves its input in
# build/fuzz/crash-*: turn it into a fixture in tests/fixtures/npz/hostile/
# and a case in tests/test_npz.c before fixing it.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Ibase -Ilayers -Idata $(WARN)
FUZZ_SOURCES := fuzz/fuzz_npz.c data/npz.c base/error.c base/atomic_file.c base/utf8.c

$(FUZZ_DIR)/fuzz_npz: $(FUZZ_SOURCES) data/npz.h base/error.h base/atomic_file.h base/utf8.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(FUZZ_SOURCES) -lz -lm -o $@

fuzz: $(FUZZ_DIR)/fuzz_npz
	@mkdir -p $(FUZZ_DIR)/corpus
	./$(FUZZ_DIR)/fuzz_npz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048 \
	    -dict=fuzz/npz.dict -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus fuzz/corpus
