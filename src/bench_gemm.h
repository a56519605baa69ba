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

#endif
