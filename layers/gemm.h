/* gemm.h: the matrix multiply behind convolution and fully connected layers.
 *
 *   C = alpha * op(A) * op(B) + beta * C
 *
 * with op(X) = X or X^T. All matrices are row-major: op(A) is M x K,
 * op(B) is K x N, C is M x N; lda, ldb, ldc are the row strides of A, B, C
 * as stored (so for transA, A is stored K x M and lda >= M).
 * beta = 0 overwrites C (whatever it held, even NaN); beta = 1 accumulates.
 *
 * gemm_reference is the textbook triple loop, kept as the definition the
 * tests and lessons compare against. gemm is the one the layers call; it
 * may be blocked, vectorised and threaded, but computes the same thing. */
#ifndef GEMM_H
#define GEMM_H

#include "real.h"

void gemm_reference(int transA, int transB, int M, int N, int K,
                    real alpha, const real *A, int lda, const real *B, int ldb,
                    real beta, real *C, int ldc);

void gemm(int transA, int transB, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc);

/* The same product, op(B) = B, with B given by where its rows are: row k is
 * the N numbers B[b_rows[k]], ..., B[b_rows[k] + N - 1]. The rows may lie
 * anywhere, overlap or repeat. The convolution layer multiplies by
 * im2col's matrix this way without building it (see shifted_rows.h). */
void gemm_rows(int transA, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, const long *b_rows, real beta, real *C, int ldc);

/* The vector kernel this build's gemm runs ("AVX-512", "AVX2+FMA" or
 * "portable C", chosen by the compiler flags) and its reals per vector. */
const char *gemm_kernel_name(void);
int gemm_vector_lanes(void);

/* The arithmetic ceiling of that kernel on this core: `steps` rounds of
 * independent fused multiply-adds on registers alone, at the kernel's
 * vector width, on the calling thread (in a portable build for a processor
 * without a fused multiply-add, the kernel's own multiply and add). Returns the floating-point
 * operations done (2 per lane of each FMA); *result receives a sum of the
 * results. Timed (src/bench_gemm.c), it gives the core's measured peak,
 * at whatever clock the core runs it (turbo included): an upper bound that
 * no real product reaches, since real ones must also load their operands. */
double gemm_fma_loop(long steps, real *result);

#endif
