/* gemm_bench: times the matrix multiply on the emotion CNN's shapes.
 * usage: gemm_bench [--threads N]     (default: all cores) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "args.h"
#include "bench_gemm.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: gemm_bench [--threads N]\n"
                 "Times gemm on the shapes the emotion CNN's layers use (median of 9 runs);\n"
                 "built with BLAS=openblas, also OpenBLAS on the same shapes.\n");
}

int main(int argc, char **argv)
{
#ifdef _OPENMP
    int threads = omp_get_max_threads();
#else
    int threads = 1;
#endif
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (arg_threads("gemm_bench", "--threads", argv[++i], &threads)) return 2;
        } else {
            fprintf(stderr, "gemm_bench: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    bench_gemm_report(stdout, threads);
    return 0;
}
