/* bench_gemm.h: how fast is the matrix multiply on the shapes the emotion
 * CNN actually uses?
 *
 * Times gemm() on each product the layers make for one training batch of
 * 64 images (the convolutions per image, the fully connected layers per
 * batch) and prints one row per shape: name, M N K, transposes, the median
 * milliseconds and GFLOP/s. Built with -DUSE_OPENBLAS (make BLAS=openblas
 * build/gemm_bench) it also times OpenBLAS on the same operands and prints
 * our speed as a fraction of OpenBLAS's. */
#ifndef BENCH_GEMM_H
#define BENCH_GEMM_H

#include <stdio.h>

/* threads: the fully connected products run with this many OpenMP threads
 * (they are called outside any parallel region); the convolution products
 * run `threads` independent copies at once, one per thread, as the
 * convolution layer does (one image per thread). */
void bench_gemm_report(FILE *out, int threads);

/* The machine's measured FMA peak in GFLOP/s: gemm_fma_loop (layers/gemm.h)
 * on `threads` threads at once, the median of 5 runs of 20 ms or more. A
 * measured peak, so at the clock the cores really run (turbo included);
 * the ceiling a training step's arithmetic is compared against. */
double bench_fma_peak_gflops(int threads);

#endif
