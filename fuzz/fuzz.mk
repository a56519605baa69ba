# Fuzzing the readers of untrusted input with libFuzzer (included by the
# Makefile). One target per reader, each fuzz/fuzz_<name>.c:
#
#   npz          the .npy/.npz reader (data/npz.c)
#   arch         network descriptions (layers/arch.c): parsed, built for
#                1x8x8 and 3x7x5 images, a cheap one run for a training step
#   csv          the FER2013 CSV reader (data/fer_csv.c)
#   checkpoint   loading a checkpoint into a network (src/checkpoint.c)
#   pnm          PGM/PPM images, as `emotion predict` reads them (src/image_io.c)
#
#   make fuzz                          builds them all, runs each FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=600
#   make fuzz FUZZ_TARGETS="arch csv"  only those named (or make fuzz-arch)
#
# The library is compiled once more, with clang, ASan and UBSan, into
# build/fuzz/libworkbench_fuzz.a (float, without OpenMP), and with
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: the .npz reader then lets a
# CRC-32 mismatch pass (fuzz_npz.c says why).
#
# The seeds in fuzz/corpus/<name>/ are read but never modified: small
# files numpy wrote (npz, made by tests/fixtures/make_npz_fixtures.py),
# descriptions (arch), few-row CSVs (csv), small checkpoints written by
# ./emotion train (checkpoint; float64_weights.npz is one of them with its
# weights widened to float64, as numpy saves by default) and tiny images of
# the four kinds, 8- and 16-bit (pnm, written by hand with printf). What the fuzzer learns goes to
# build/fuzz/corpus/<name>. fuzz/<name>.dict lists each format's words;
# the checkpoint target's dictionary is npz.dict and arch.dict with the
# member names. A crash leaves its input in build/fuzz/<name>-crash-*:
# turn it into a test (a fixture and a case in tests/test_*.c or
# tests/cli_cases.sh) before fixing it.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ALL     := npz arch csv checkpoint pnm
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION $(WARN)
FUZZ_INC     := -Ibase -Ilayers -Ioptim -Idata -Isrc -Ifuzz
FUZZ_LIB_SRC := $(filter-out %_main.c src/bench_gemm.c, \
                  $(wildcard base/*.c layers/*.c optim/*.c data/*.c src/*.c))

# Per target, the largest input (a CSV row alone is about 9 kB). The memory
# limit is for the largest network the size limits let a description ask
# for: ARCH_MAX_PARAMS weights (400 MB), as much again for their
# gradients, and the activations (at most 256 MB for one image), with room
# for the sanitizers. (A checkpoint's network is refused before that when it
# asks for millions more weights than the file's arrays hold.)
FUZZ_MAX_LEN_npz        := 8192
FUZZ_MAX_LEN_arch       := 4096
FUZZ_MAX_LEN_csv        := 32768
FUZZ_MAX_LEN_checkpoint := 16384
FUZZ_MAX_LEN_pnm        := 8192
FUZZ_RSS_MB             := 2560

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INC) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libworkbench_fuzz.a: $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DIR)/libworkbench_fuzz.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(FUZZ_INC) -MMD -MP -MF $@.d $< \
	    $(FUZZ_DIR)/libworkbench_fuzz.a -lz -lm -o $@

$(FUZZ_DIR)/checkpoint.dict: fuzz/npz.dict fuzz/arch.dict fuzz/checkpoint.dict
	@mkdir -p $(@D)
	cat $^ > $@

fuzz_dict = $(if $(filter checkpoint,$(1)),$(FUZZ_DIR)/checkpoint.dict,fuzz/$(1).dict)

# fuzz-npz, fuzz-arch, ...: one target, FUZZ_SECONDS long
define fuzz_rules
.PHONY: fuzz-$(1)
fuzz-$(1): $(FUZZ_DIR)/fuzz_$(1) $(call fuzz_dict,$(1))
	@mkdir -p $(FUZZ_DIR)/corpus/$(1)
	./$(FUZZ_DIR)/fuzz_$(1) -max_total_time=$$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN_$(1)) \
	    -rss_limit_mb=$(FUZZ_RSS_MB) -dict=$(call fuzz_dict,$(1)) \
	    -artifact_prefix=$(FUZZ_DIR)/$(1)- -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus/$(1) fuzz/corpus/$(1)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_rules,$(t))))

# One after the other, even under make -j: each fuzzer keeps a core busy.
fuzz:
	@for t in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-$$t || exit 1; done
