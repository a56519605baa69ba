# src/gemm_bench.mk: the matrix multiply benchmark; included from the Makefile.
#
#   make build/gemm_bench                  times our gemm on the layers' shapes
#   make BLAS=openblas build/gemm_bench    also times OpenBLAS (cblas_sgemm) on
#                                          the same operands and prints the ratio
#   build/gemm_bench --threads 1
#
# Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to
# its slow "Prescott" kernels; run with OPENBLAS_CORETYPE=SkylakeX for a fair
# comparison (the bench prints the core OpenBLAS chose).
#
# bench_gemm.c is a library source (the float and double libraries hold the
# version without OpenBLAS); the benchmark links its own copy, compiled into
# a directory named after the BLAS choice, and is relinked on every make so
# switching BLAS= never leaves a stale binary.

GEMM_BENCH_BLAS := $(if $(BLAS),$(BLAS),own)
GEMM_BENCH_DIR  := $(BUILD)/gemm_bench_$(GEMM_BENCH_BLAS)
ifeq ($(BLAS),openblas)
GEMM_BENCH_CFLAGS := -DUSE_OPENBLAS $(shell pkg-config --cflags openblas 2>/dev/null)
GEMM_BENCH_LIBS   := $(or $(shell pkg-config --libs openblas 2>/dev/null),-lopenblas)
endif

.PHONY: $(BUILD)/gemm_bench

$(GEMM_BENCH_DIR)/bench_gemm.o: src/bench_gemm.c $(BUILD_FLAGS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(INC_src) $(GEMM_BENCH_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gemm_bench: $(BUILD)/float/cli/gemm_bench_main.o $(GEMM_BENCH_DIR)/bench_gemm.o \
                     $(BUILD)/libworkbench_float.a
	$(CC) $(LDFLAGS) $^ $(GEMM_BENCH_LIBS) $(LDLIBS) -o $@
