#include "gemm.h"

/* The definition: C[i][j] = alpha * sum_k op(A)[i][k] * op(B)[k][j] + beta * C[i][j].
 * The sum runs in double so the reference is at least as accurate as the
 * fast kernel it checks. */
void gemm_reference(int transA, int transB, int M, int N, int K,
                    real alpha, const real *A, int lda, const real *B, int ldb,
                    real beta, real *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < K; k++) {
                real a = transA ? A[(long)k * lda + i] : A[(long)i * lda + k];
                real b = transB ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
                sum += (double)a * (double)b;
            }
            real *c = &C[(long)i * ldc + j];
            *c = (real)(alpha * sum) + (beta == 0 ? 0 : beta * *c);
        }
    }
}
