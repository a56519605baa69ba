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

#endif
