/* gemm.c: a fast matrix multiply, and why it is fast.
 *
 *     C = alpha * op(A) * op(B) + beta * C        (row-major; see gemm.h)
 *
 * gemm_reference.c computes the same thing with three nested loops, at 1-2
 * GFLOP/s. This file computes the same products and sums (in `real`
 * precision, where the reference sums in double) 50-100 times faster on
 * the layers' shapes, about as fast as OpenBLAS (1.08x over a training
 * batch's products; 0.7x to 1.2x shape by shape, the slowest being the
 * tiniest products, see the README). Nothing
 * is skipped: the speed comes from *where the numbers are* when they are
 * multiplied. The structure is the one of BLIS and OpenBLAS (Goto and van
 * de Geijn, "Anatomy of high-performance matrix multiplication", 2008).
 *
 * 1. Arithmetic is cheap, moving data is not. One core here can do two
 *    fused multiply-adds (FMA) per cycle on 16 floats each: 64 flops per
 *    cycle. A plain loop does one load (or more) per multiply-add, and the
 *    core can load at best two vectors per cycle, from the L1 cache, and far
 *    fewer from memory. To run at the FMA rate every loaded number must be
 *    used many times while it sits in a register.
 *
 * 2. The micro-kernel (register blocking). Keep an MR x NR tile of C in
 *    vector registers (8 x 48 floats = 24 of the 32 AVX-512 registers) and
 *    run over k: at each step load one row of NR numbers from B (3
 *    vectors), broadcast MR numbers from A, and do MR * NR multiply-adds
 *    (24 FMA instructions) on the tile: an outer product. 3 vector loads +
 *    8 broadcasts feed 24 FMAs, and the tile stays in registers for the
 *    whole k loop: C is read and written once per tile, not once per k.
 *    Why 48 columns: the wider the tile, the fewer loads per FMA; and the
 *    convolutions' products are 144, 288, 576 or 1,152 wide, all multiples
 *    of 48 (8 x 32 measured 3% to 16% slower on them).
 *
 * 3. Packing. The micro-kernel wants, for each k, MR numbers of A and NR
 *    numbers of B next to each other. In the user's matrices they are
 *    strided (a column of A, or a row of B^T), maybe far apart. So before
 *    multiplying, copy the part of A that will be used into "slivers" of MR
 *    rows laid out k by k, and the part of B into slivers of NR columns laid
 *    out k by k: exactly the order the micro-kernel reads them, contiguous,
 *    aligned, padded with zeros at the edges. Packing costs one copy of each
 *    operand; the micro-kernel then reads each packed number many times.
 *    Transposes cost nothing extra: op(A) and op(B) are packed the same way
 *    whatever their layout, so one micro-kernel serves all four cases.
 *
 * 4. Cache blocking. Pack and multiply in blocks sized for the caches:
 *    KC values of k at a time and MC rows of A, so that the packed A block
 *    (MC x KC, at most 768 KiB) stays in the L2 cache (1 MiB or more); and
 *    NC columns of B at a time. A B sliver (KC x NR) meets every A sliver
 *    of the block in turn: it comes from memory once and then from the L1
 *    or L2 cache. The loops, outermost first:
 *
 *        for each block of MC rows of A              (i0)
 *          for each block of KC values of k          (k0)  pack A block
 *            for each block of NC columns of B       (j0)  pack B block
 *              for each B sliver (NR columns)        once from memory
 *                for each A sliver (MR rows)         from L2
 *                  micro-kernel: C tile += A sliver * B sliver
 *
 *    Blocks over k mean C is updated once per k block: the first block
 *    applies the caller's beta, the later ones add (beta = 1). When k is
 *    short (under SHORT_K), a tile spends its time writing C rather than
 *    multiplying, and the last two loops swap: along C's rows, so that C is
 *    written in order.
 *
 * 5. Threads. Outside an OpenMP parallel region, a large product is split
 *    into column (or row) ranges of C, one per thread, at tile boundaries;
 *    each thread packs what its range needs and runs the loops above. Each
 *    element of C is computed by exactly one thread, in the same order as a
 *    single thread would: results are identical for any thread count. Inside
 *    a parallel region (the convolution layer runs one image per thread) the
 *    product stays on the calling thread.
 *
 * 6. Narrow products. A tile is 48 columns wide; a product with 7 or 9
 *    columns would waste most of each tile. When tiles fit better the other
 *    way round, compute the transpose instead: C^T = op(B)^T op(A)^T. With
 *    strided views of the operands (below) this is just swapping strides.
 *    With AVX-512 the tile also comes 32 columns wide: a product 256 wide
 *    (the fully connected layers') is 8 such tiles exactly, where 48-wide
 *    ones pad it to 288. Of the two orientations and the two widths, gemm
 *    takes the one that pads C least.
 *
 * 7. B read in place. When B's rows are contiguous (op(B) = B), a B
 *    sliver needs no packing: its row k is a tile's width of numbers side
 *    by side in B itself. The micro-kernel takes the sliver as a base address and a
 *    table of where each of its rows starts: k * its width when packed, k times
 *    B's row stride in place. Skipping the copy matters most when A is
 *    short, as the convolutions' 32 to 128 filters are: each B number is
 *    then used only M times, and packing it costs about as much as 16 to 32
 *    of those multiply-adds. Two kinds of sliver are still packed: the
 *    last one when it is narrower than the tile (packing pads it with
 *    zeros), and all of them when B's rows lie a multiple of 1 KiB apart,
 *    for then they fall into at most 4 of the L1 cache's 64 sets and evict
 *    one another (the fully connected layers' 256-wide weights measured 12%
 *    slower in place).
 *    Packed or in place, the micro-kernel multiplies the same numbers in the
 *    same order: the results are identical.
 *    The row table also lets a B whose rows lie anywhere in memory be
 *    multiplied without copying it: gemm_rows, with which the convolution
 *    layer multiplies by im2col's matrix without building it
 *    (shifted_rows.h).
 *
 * 8. Small C, long k. Packing pays off because each packed number is used
 *    many times: on average M*N / (M + N) times. The first convolution's
 *    weight gradient (32 x 9 outputs, k = 2304) would use each packed
 *    number 7 times, too few to repay a transposing copy. There both
 *    operands already run along k in memory (A * B^T), so each output is a
 *    dot product of two contiguous rows: vectorise along k instead, with no
 *    packing at all (multiply_dot below).
 *
 * Numerics: each element of C is a sum of K products in `real` precision,
 * in an order fixed by the shape (k by k in the micro-kernel; one partial
 * sum per vector lane, then added, in the dot products), never by the thread
 * count, then alpha * sum + beta * C. The error is of order
 * K * epsilon * sum_k |a_ik b_kj|, as for any floating-point dot product.
 * As in BLAS, alpha = 0 or K = 0 means C = beta * C without reading A or B.
 *
 * The micro-kernel is written once against a small vocabulary of vector
 * operations (vec_load, vec_broadcast, vec_fma, ...) defined below for
 * AVX-512, for AVX2 + FMA, and for plain C (one "lane"), in float and in
 * double, so this file compiles and runs anywhere; the compiler flags
 * (-march=native) choose which one is used. */
#include "gemm.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX__)
#include <immintrin.h>
#endif

/* ---- The vector vocabulary ------------------------------------------------
 * vec holds VEC_LANES reals. MR is the number of tile rows; each tile row is
 * VECS_PER_ROW vectors, so NR = VECS_PER_ROW * VEC_LANES columns, or, in
 * the narrow tile, VECS_NARROW vectors (see 6.; the same with AVX2 and in
 * plain C). MR is chosen so the MR * VECS_PER_ROW accumulators plus the B
 * row and a broadcast fit in the register file (32 registers with AVX-512,
 * 16 with AVX2); likewise the DOT_ROWS x 3 accumulators of the dot
 * products. */
#if defined(__AVX512F__) && !defined(REAL_IS_DOUBLE)
typedef __m512 vec;
enum { VEC_LANES = 16, VECS_PER_ROW = 3, VECS_NARROW = 2, MR = 8, DOT_ROWS = 8 };
static inline vec vec_zero(void) { return _mm512_setzero_ps(); }
static inline vec vec_load(const real *p) { return _mm512_loadu_ps(p); }
static inline void vec_store(real *p, vec v) { _mm512_storeu_ps(p, v); }
static inline vec vec_broadcast(real x) { return _mm512_set1_ps(x); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline vec vec_mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
static inline vec vec_add(vec a, vec b) { return _mm512_add_ps(a, b); }
#elif defined(__AVX512F__)
typedef __m512d vec;
enum { VEC_LANES = 8, VECS_PER_ROW = 3, VECS_NARROW = 2, MR = 8, DOT_ROWS = 8 };
static inline vec vec_zero(void) { return _mm512_setzero_pd(); }
static inline vec vec_load(const real *p) { return _mm512_loadu_pd(p); }
static inline void vec_store(real *p, vec v) { _mm512_storeu_pd(p, v); }
static inline vec vec_broadcast(real x) { return _mm512_set1_pd(x); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm512_fmadd_pd(a, b, c); }
static inline vec vec_mul(vec a, vec b) { return _mm512_mul_pd(a, b); }
static inline vec vec_add(vec a, vec b) { return _mm512_add_pd(a, b); }
#elif defined(__AVX2__) && defined(__FMA__) && !defined(REAL_IS_DOUBLE)
typedef __m256 vec;
enum { VEC_LANES = 8, VECS_PER_ROW = 2, VECS_NARROW = 2, MR = 6, DOT_ROWS = 4 };
static inline vec vec_zero(void) { return _mm256_setzero_ps(); }
static inline vec vec_load(const real *p) { return _mm256_loadu_ps(p); }
static inline void vec_store(real *p, vec v) { _mm256_storeu_ps(p, v); }
static inline vec vec_broadcast(real x) { return _mm256_set1_ps(x); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline vec vec_mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
static inline vec vec_add(vec a, vec b) { return _mm256_add_ps(a, b); }
#elif defined(__AVX2__) && defined(__FMA__)
typedef __m256d vec;
enum { VEC_LANES = 4, VECS_PER_ROW = 2, VECS_NARROW = 2, MR = 6, DOT_ROWS = 4 };
static inline vec vec_zero(void) { return _mm256_setzero_pd(); }
static inline vec vec_load(const real *p) { return _mm256_loadu_pd(p); }
static inline void vec_store(real *p, vec v) { _mm256_storeu_pd(p, v); }
static inline vec vec_broadcast(real x) { return _mm256_set1_pd(x); }
static inline vec vec_fma(vec a, vec b, vec c) { return _mm256_fmadd_pd(a, b, c); }
static inline vec vec_mul(vec a, vec b) { return _mm256_mul_pd(a, b); }
static inline vec vec_add(vec a, vec b) { return _mm256_add_pd(a, b); }
#else
/* Portable C: a "vector" of one lane and a 4 x 4 tile of scalars, which
 * the compiler keeps in registers. a * b + c is not fused here (ISO C does
 * not contract it by default), which changes rounding, not the algorithm. */
typedef real vec;
enum { VEC_LANES = 1, VECS_PER_ROW = 4, VECS_NARROW = 4, MR = 4, DOT_ROWS = 4 };
static inline vec vec_zero(void) { return 0; }
static inline vec vec_load(const real *p) { return *p; }
static inline void vec_store(real *p, vec v) { *p = v; }
static inline vec vec_broadcast(real x) { return x; }
static inline vec vec_fma(vec a, vec b, vec c) { return a * b + c; }
static inline vec vec_mul(vec a, vec b) { return a * b; }
static inline vec vec_add(vec a, vec b) { return a + b; }
#endif

enum {
    NR = VECS_PER_ROW * VEC_LANES,        /* tile columns */
    NR_NARROW = VECS_NARROW * VEC_LANES, /* the narrow tile's */
    DOT_COLS = 3, /* the dot-product tile is DOT_ROWS x DOT_COLS, see 8. */
    /* Cache blocks (see 4. above). KC: the k extent of a packed sliver.
     * MC, NC: rows of A and columns of B packed at a time; multiples of
     * MR and of both tile widths so that blocks are made of whole tiles. */
    KC = 384,
    MC = 64 * MR,
    NC = 20 * NR, /* 60 vectors with AVX-512: also 30 narrow tiles */
    SLIVERS = NC / NR_NARROW, /* B slivers in a block, at most */
    SHORT_K = 128, /* below, a tile's time goes mostly to writing C */
};

/* A strided view of a matrix: element (i, j) is data[i * row_stride +
 * j * col_stride]. A row-major matrix with leading dimension ld is the view
 * (ld, 1); its transpose is the same data seen as (1, ld). Views let one
 * packing routine serve op(A), op(B) and their transposes.
 * gemm_rows's B is a view whose rows lie anywhere: row_start, when not
 * NULL, replaces the row stride (element (i, j) is
 * data[row_start[i] + j * col_stride]); such a view is never transposed. */
typedef struct {
    const real *data;
    long row_stride, col_stride;
    const long *row_start;
} MatrixView;

/* One product C = alpha * a * b + beta * C with a (M x K), b (K x N) and
 * C (M x N) at c[i * c_row_stride + j * c_col_stride]. */
typedef struct {
    int M, N, K;
    real alpha, beta;
    MatrixView a, b;
    real *c;
    long c_row_stride, c_col_stride;
    int by_dot_products; /* decided once for the whole product, see 8. */
    int b_in_place;      /* B's slivers read where they are, see 7. */
    int vecs;            /* the tile's width in vectors, see 6. */
} Product;

static inline int min_int(int x, int y) { return x < y ? x : y; }
static inline int ceil_div(int x, int y) { return (x + y - 1) / y; }

static MatrixView view_at(MatrixView v, int i, int j)
{
    if (v.row_start)
        v.row_start += i;
    else
        v.data += i * v.row_stride;
    v.data += j * v.col_stride;
    return v;
}

static const real *view_row(MatrixView v, int i)
{
    return v.data + (v.row_start ? v.row_start[i] : i * v.row_stride);
}

static MatrixView view_transposed(MatrixView v)
{
    assert(!v.row_start);
    MatrixView t = {v.data, v.col_stride, v.row_stride, NULL};
    return t;
}

/* C[0:m, 0:n] = alpha * sums + beta * C[0:m, 0:n], sums being m x n with row
 * stride sums_stride. alpha * sum + beta * c is computed as two products and
 * one sum, as the vector path of the micro-kernel does, so an element's
 * value does not depend on which path stored it. beta = 0 never reads C. */
static void update_c(const real *sums, int sums_stride, int m, int n, real alpha, real beta,
                     real *c, long c_row_stride, long c_col_stride)
{
    if (c_row_stride == 1 && c_col_stride != 1) {
        /* C transposed (see 6.): C's rows run down the columns of sums.
         * Write them one after the other, each cache line once, rather than
         * a number of every row at each pass. */
        for (int j = 0; j < n; j++) {
            real *out = c + j * c_col_stride;
            if (beta == 0)
                for (int r = 0; r < m; r++) out[r] = alpha * sums[r * sums_stride + j];
            else
                for (int r = 0; r < m; r++) out[r] = alpha * sums[r * sums_stride + j] + beta * out[r];
        }
        return;
    }
    for (int r = 0; r < m; r++) {
        const real *sum = sums + r * sums_stride;
        real *out = c + r * c_row_stride;
        if (beta == 0)
            for (int j = 0; j < n; j++) out[j * c_col_stride] = alpha * sum[j];
        else
            for (int j = 0; j < n; j++)
                out[j * c_col_stride] = alpha * sum[j] + beta * out[j * c_col_stride];
    }
}

/* ---- The micro-kernel ------------------------------------------------------
 * The tile is `vecs` vectors wide: nr = vecs * VEC_LANES columns (NR, or
 * NR_NARROW, see 6.); vecs is a constant in each of the two versions the
 * wrappers below make of it.
 * a is an A sliver: MR x kc, packed k by k (a[k * MR + r]).
 * b is a B sliver: kc x nr, its row k at b + b_rows[k] (b[k * nr + j] when
 * packed k by k, see 7. for the others).
 * c is the tile's top-left element of C, with strides c_row_stride and
 * c_col_stride; only its first m rows and n columns exist (m <= MR,
 * n <= nr; the packed zeros fill the rest of the registers).
 *
 *     C[0:m, 0:n] = alpha * (a * b)[0:m, 0:n] + beta * C[0:m, 0:n]
 *
 * The k loop is the hot loop of the whole program: per k, where B's row
 * starts, vecs loads of B, MR broadcasts of A, MR * vecs FMAs, nothing
 * else. "#pragma GCC unroll" makes the compiler unroll the loops over r and
 * v completely, so that acc[][] lives in registers rather than in memory. */
static inline __attribute__((always_inline)) void
micro_kernel(const int vecs, int kc, const real *a, const real *b, const long *b_rows, real alpha,
             real beta, real *c, long c_row_stride, long c_col_stride, int m, int n)
{
    const int nr = vecs * VEC_LANES;
    vec acc[MR][VECS_PER_ROW];
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < vecs; v++) acc[r][v] = vec_zero();

    for (int k = 0; k < kc; k++) {
        vec b_row[VECS_PER_ROW];
#pragma GCC unroll 4
        for (int v = 0; v < vecs; v++) b_row[v] = vec_load(b + b_rows[k] + v * VEC_LANES);
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
            vec a_r = vec_broadcast(a[r]);
#pragma GCC unroll 4
            for (int v = 0; v < vecs; v++) acc[r][v] = vec_fma(a_r, b_row[v], acc[r][v]);
        }
        a += MR;
    }

    if (m == MR && n == nr && c_col_stride == 1) {
        /* A whole tile of contiguous rows: update C with vector loads and
         * stores. beta == 0 must not read C (it may hold NaN); 1 * x is x
         * exactly, so skipping those products changes nothing but time. */
        vec alpha_v = vec_broadcast(alpha), beta_v = vec_broadcast(beta);
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++) {
#pragma GCC unroll 4
            for (int v = 0; v < vecs; v++) {
                real *out = c + r * c_row_stride + v * VEC_LANES;
                vec result = alpha == 1 ? acc[r][v] : vec_mul(alpha_v, acc[r][v]);
                if (beta == 1)
                    result = vec_add(result, vec_load(out));
                else if (beta != 0)
                    result = vec_add(result, vec_mul(beta_v, vec_load(out)));
                vec_store(out, result);
            }
        }
    } else {
        /* A partial tile, or a transposed C: through memory, element by
         * element, with the same operations as the vector path above. */
        _Alignas(64) real tile[MR * NR];
#pragma GCC unroll 16
        for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
            for (int v = 0; v < vecs; v++)
                vec_store(tile + r * nr + v * VEC_LANES, acc[r][v]);
        update_c(tile, nr, m, n, alpha, beta, c, c_row_stride, c_col_stride);
    }
}

/* The two versions: tiles NR wide, and NR_NARROW wide */
static void micro_kernel_wide(int kc, const real *a, const real *b, const long *b_rows,
                              real alpha, real beta, real *c, long c_row_stride,
                              long c_col_stride, int m, int n)
{
    micro_kernel(VECS_PER_ROW, kc, a, b, b_rows, alpha, beta, c, c_row_stride, c_col_stride, m, n);
}

static void micro_kernel_narrow(int kc, const real *a, const real *b, const long *b_rows,
                                real alpha, real beta, real *c, long c_row_stride,
                                long c_col_stride, int m, int n)
{
    micro_kernel(VECS_NARROW, kc, a, b, b_rows, alpha, beta, c, c_row_stride, c_col_stride, m, n);
}

/* ---- Packing ----------------------------------------------------------------
 * pack_slivers copies the rows x depth view v into slivers of `width` rows:
 * sliver s holds rows s*width .. s*width + width - 1, stored depth-major
 * (packed[s * width * depth + d * width + r]), zero rows padding the last
 * sliver to full width.
 *
 * An A block (mc x kc) packs into A slivers of width MR. A B block (kc x nc)
 * packs as its transpose (nc x kc) into B slivers of width NR: the "rows" of
 * a B sliver are columns of B. Either way the source is one of two layouts:
 * - the sliver's rows are strided and its columns contiguous (op(A) = A^T,
 *   or op(B) = B): each depth step is one contiguous copy of `width`;
 * - the rows are contiguous (op(A) = A, op(B) = B^T): packing is a
 *   transpose, done 8 x 8 numbers at a time in registers. */

#if defined(__AVX__) && !defined(REAL_IS_DOUBLE)
/* q[r] = (row r: 4 numbers | row r+4: the same 4 columns). A 4 x 4
 * transpose inside each half (two rounds of shuffles) turns them into the
 * 4 columns, each (rows 0-3 | rows 4-7), stored dst_stride apart. */
static inline void transpose_halves_4x4(const __m256 q[4], real *dst, long dst_stride)
{
    __m256 pair[4];
    pair[0] = _mm256_unpacklo_ps(q[0], q[1]);
    pair[1] = _mm256_unpackhi_ps(q[0], q[1]);
    pair[2] = _mm256_unpacklo_ps(q[2], q[3]);
    pair[3] = _mm256_unpackhi_ps(q[2], q[3]);
    _mm256_storeu_ps(dst + 0 * dst_stride, _mm256_shuffle_ps(pair[0], pair[2], _MM_SHUFFLE(1, 0, 1, 0)));
    _mm256_storeu_ps(dst + 1 * dst_stride, _mm256_shuffle_ps(pair[0], pair[2], _MM_SHUFFLE(3, 2, 3, 2)));
    _mm256_storeu_ps(dst + 2 * dst_stride, _mm256_shuffle_ps(pair[1], pair[3], _MM_SHUFFLE(1, 0, 1, 0)));
    _mm256_storeu_ps(dst + 3 * dst_stride, _mm256_shuffle_ps(pair[1], pair[3], _MM_SHUFFLE(3, 2, 3, 2)));
}
#endif

/* dst[d * dst_stride + r] = src[r * src_stride + d] for r, d < 8 */
static inline void transpose_8x8(const real *src, long src_stride, real *dst, long dst_stride)
{
#if defined(__AVX__) && !defined(REAL_IS_DOUBLE)
    /* Read as 4-number halves, the 8 x 8 block is four 4 x 4 blocks. Load
     * rows r and r + 4 into the two halves of one register (columns 0-3 in
     * x[], columns 4-7 in y[]): then one 4 x 4 transpose inside each half
     * (two rounds of shuffles) gives whole columns. The loads do the
     * coarsest step of the transpose, so 16 shuffles do the rest, where a
     * transpose of whole rows needs 24, and the shuffle unit is what limits
     * this copy. */
    __m256 x[4], y[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        const real *top = src + r * src_stride, *bottom = src + (r + 4) * src_stride;
        x[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(top)),
                                    _mm_loadu_ps(bottom), 1);
        y[r] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(top + 4)),
                                    _mm_loadu_ps(bottom + 4), 1);
    }
    transpose_halves_4x4(x, dst, dst_stride);                  /* columns 0-3 */
    transpose_halves_4x4(y, dst + 4 * dst_stride, dst_stride); /* columns 4-7 */
#else
    for (int d = 0; d < 8; d++)
        for (int r = 0; r < 8; r++) dst[d * dst_stride + r] = src[r * src_stride + d];
#endif
}

static inline void pack_slivers(MatrixView v, int rows, int depth, int width, real *packed)
{
    for (int s0 = 0; s0 < rows; s0 += width, packed += (long)width * depth) {
        const int live = min_int(width, rows - s0);
        const MatrixView sliver = view_at(v, s0, 0);
        int d = 0;
        if (live == width && v.row_stride == 1) {
            /* width is MR or NR: with the size a constant, the compiler
             * copies in a few vector moves instead of calling memcpy */
            if (width == NR)
                for (; d < depth; d++)
                    memcpy(packed + d * NR, sliver.data + d * v.col_stride, NR * sizeof(real));
            else if (width == NR_NARROW)
                for (; d < depth; d++)
                    memcpy(packed + d * NR_NARROW, sliver.data + d * v.col_stride,
                           NR_NARROW * sizeof(real));
            else if (width == MR)
                for (; d < depth; d++)
                    memcpy(packed + d * MR, sliver.data + d * v.col_stride, MR * sizeof(real));
            else
                for (; d < depth; d++)
                    memcpy(packed + d * width, sliver.data + d * v.col_stride, width * sizeof(real));
        } else if (live == width && v.col_stride == 1 && width % 8 == 0) {
            for (; d + 8 <= depth; d += 8)
                for (int r = 0; r < width; r += 8)
                    transpose_8x8(sliver.data + r * v.row_stride + d, v.row_stride,
                                  packed + d * width + r, width);
        }
        if (d < depth && live < width) /* a partial sliver: zero rows below the live ones */
            memset(packed + d * width, 0, (size_t)(depth - d) * width * sizeof(real));
        for (; d < depth; d++) /* the edges: partial slivers, the last few depths */
            for (int r = 0; r < live; r++)
                packed[d * width + r] = sliver.data[r * v.row_stride + d * v.col_stride];
    }
}

/* An mc x kc block of op(A) into A slivers. */
static void pack_a_block(MatrixView a, int mc, int kc, real *packed)
{
    pack_slivers(a, mc, kc, MR, packed);
}

/* A kc x nc block of op(B) into B slivers nr wide. */
static void pack_b_block(MatrixView b, int kc, int nc, int nr, real *packed)
{
    pack_slivers(view_transposed(b), nc, kc, nr, packed);
}

/* ---- The blocked product on one thread ------------------------------------ */

/* Each thread's packing space, allocated on its first product and kept:
 * the hot path never allocates. */
typedef struct PackBuffers {
    _Alignas(64) real a[MC * KC]; /* an A block: mc x kc as A slivers */
    _Alignas(64) real b[KC * NC]; /* a B block: kc x nc as B slivers */
    long packed_rows[KC];         /* k * nr: where a packed sliver's rows start */
    long strided_rows[KC];        /* k * B's row stride, for B read in place */
    struct PackBuffers *next;     /* every buffer ever made, see below */
} PackBuffers;

/* The list keeps every thread's buffers reachable, so leak checkers do not
 * report them when a program exits while OpenMP threads still hold them. */
static PackBuffers *all_pack_buffers;
static _Thread_local PackBuffers *this_thread_pack_buffers;

static PackBuffers *pack_buffers(void)
{
    if (!this_thread_pack_buffers) {
        PackBuffers *buffers = aligned_alloc(_Alignof(PackBuffers), sizeof(PackBuffers));
        if (!buffers) {
            fprintf(stderr, "gemm: out of memory (%zu bytes of packing space)\n",
                    sizeof(PackBuffers));
            abort();
        }
#pragma omp critical(gemm_pack_buffers)
        {
            buffers->next = all_pack_buffers;
            all_pack_buffers = buffers;
        }
        this_thread_pack_buffers = buffers;
    }
    return this_thread_pack_buffers;
}

/* The last B sliver, n < nr columns wide, of a B read in place: packed,
 * zeros to the right of its n columns. */
static void pack_b_partial(MatrixView b, int kc, int n, int nr, real *packed)
{
    for (int k = 0; k < kc; k++, packed += nr) {
        const real *row = view_row(b, k);
        for (int j = 0; j < n; j++) packed[j] = row[j * b.col_stride];
        for (int j = n; j < nr; j++) packed[j] = 0;
    }
}

/* The sliver of columns jr .. jr + n - 1 of a kc x nc B block (`block`, as
 * it lies in B): its first row and, in *rows, where its rows start. */
static const real *b_sliver(const Product *p, MatrixView block, int kc, int jr, int n,
                            PackBuffers *packed, const long **rows)
{
    const MatrixView sliver = view_at(block, 0, jr);
    const int nr = p->vecs * VEC_LANES;
    if (p->b_in_place && n == nr) {
        *rows = sliver.row_start ? sliver.row_start : packed->strided_rows;
        return sliver.data;
    }
    *rows = packed->packed_rows;
    if (!p->b_in_place) return packed->b + jr * kc; /* the block was packed */
    pack_b_partial(sliver, kc, n, nr, packed->b);
    return packed->b;
}

/* C's tile at (i, j), m x n, = (or +=) an A sliver times a B sliver */
static void multiply_tile(const Product *p, int kc, const real *a, const real *b,
                          const long *b_rows, real beta, int i, int j, int m, int n)
{
    real *c = p->c + i * p->c_row_stride + j * p->c_col_stride;
    if (p->vecs == VECS_PER_ROW)
        micro_kernel_wide(kc, a, b, b_rows, p->alpha, beta, c, p->c_row_stride, p->c_col_stride, m, n);
    else
        micro_kernel_narrow(kc, a, b, b_rows, p->alpha, beta, c, p->c_row_stride, p->c_col_stride,
                            m, n);
}

static void multiply_blocked(const Product *p)
{
    PackBuffers *packed = pack_buffers();
    /* K is cut into equal blocks of at most KC (576 = 2 x 288, not
     * 384 + 192), so no block is short. */
    const int kc_max = ceil_div(p->K, ceil_div(p->K, KC)), nr = p->vecs * VEC_LANES;
    for (int k = 0; k < kc_max; k++) packed->packed_rows[k] = (long)k * nr;
    if (p->b_in_place && !p->b.row_start)
        for (int k = 0; k < kc_max; k++) packed->strided_rows[k] = k * p->b.row_stride;

    for (int i0 = 0; i0 < p->M; i0 += MC) {
        const int mc = min_int(MC, p->M - i0);
        for (int k0 = 0; k0 < p->K; k0 += kc_max) {
            const int kc = min_int(kc_max, p->K - k0);
            const real beta = k0 == 0 ? p->beta : 1; /* later k blocks add */
            pack_a_block(view_at(p->a, i0, k0), mc, kc, packed->a);

            for (int j0 = 0; j0 < p->N; j0 += NC) {
                const int nc = min_int(NC, p->N - j0);
                const MatrixView b_block = view_at(p->b, k0, j0);
                if (!p->b_in_place) pack_b_block(b_block, kc, nc, nr, packed->b);
                const real *b[SLIVERS];
                const long *b_rows[SLIVERS];
                const int slivers = ceil_div(nc, nr);
                for (int s = 0; s < slivers; s++)
                    b[s] = b_sliver(p, b_block, kc, s * nr, min_int(nr, nc - s * nr), packed,
                                    &b_rows[s]);

                /* Each B sliver meets every A sliver in turn (see 4.); but
                 * when k is short, the tiles mostly write C: then go along
                 * C's rows, so that C is written in order. */
                if (kc >= SHORT_K) {
                    for (int s = 0; s < slivers; s++)
                        for (int ir = 0; ir < mc; ir += MR)
                            multiply_tile(p, kc, packed->a + ir * kc, b[s], b_rows[s], beta, i0 + ir,
                                          j0 + s * nr, min_int(MR, mc - ir), min_int(nr, nc - s * nr));
                } else {
                    for (int ir = 0; ir < mc; ir += MR)
                        for (int s = 0; s < slivers; s++)
                            multiply_tile(p, kc, packed->a + ir * kc, b[s], b_rows[s], beta, i0 + ir,
                                          j0 + s * nr, min_int(MR, mc - ir), min_int(nr, nc - s * nr));
                }
            }
        }
    }
}

/* ---- Small C, long k: dot products (see 8. above) -------------------------
 * Here a's rows and b's columns are contiguous along k (a.col_stride == 1,
 * b.row_stride == 1). A tile of DOT_ROWS x DOT_COLS outputs keeps one
 * vector accumulator per output: lane l sums the products at k = l,
 * l + VEC_LANES, l + 2 VEC_LANES, ...; at the end the lanes are added in order
 * and the last K mod VEC_LANES products follow. Per VEC_LANES values of k:
 * DOT_ROWS + DOT_COLS loads feed DOT_ROWS * DOT_COLS FMAs.
 *
 * k is taken DOT_CHUNK values at a time, for every tile in turn, so that
 * the chunk of each row of a and column of b (a few KiB in all) is read
 * from memory once and then from the L1 cache by every tile that needs it.
 * The accumulators wait between chunks in this thread's packing space;
 * each lane still sums its products in k order, so chunking changes no
 * result. */
enum { DOT_CHUNK = 32 * VEC_LANES };

typedef struct {
    vec acc[DOT_ROWS][DOT_COLS];
} DotTile;

/* The rows of a and columns of b of the tile at (i0, j0). Rows and columns
 * past the edge repeat the last real one: computed, never stored, and never
 * read out of bounds. */
static void dot_operands(const Product *p, int i0, int j0, const real *a_rows[DOT_ROWS],
                         const real *b_columns[DOT_COLS])
{
    const int m = min_int(DOT_ROWS, p->M - i0), n = min_int(DOT_COLS, p->N - j0);
    for (int r = 0; r < DOT_ROWS; r++)
        a_rows[r] = p->a.data + (i0 + min_int(r, m - 1)) * p->a.row_stride;
    for (int c = 0; c < DOT_COLS; c++)
        b_columns[c] = p->b.data + (j0 + min_int(c, n - 1)) * p->b.col_stride;
}

/* tile += the products at k0 <= k < k1 (multiples of VEC_LANES) */
static void dot_accumulate(int k0, int k1, const real *const a_rows[DOT_ROWS],
                           const real *const b_columns[DOT_COLS], DotTile *tile)
{
    vec acc[DOT_ROWS][DOT_COLS];
#pragma GCC unroll 16
    for (int r = 0; r < DOT_ROWS; r++)
#pragma GCC unroll 4
        for (int c = 0; c < DOT_COLS; c++) acc[r][c] = tile->acc[r][c];

    for (int k = k0; k < k1; k += VEC_LANES) {
        vec b_k[DOT_COLS];
#pragma GCC unroll 4
        for (int c = 0; c < DOT_COLS; c++) b_k[c] = vec_load(b_columns[c] + k);
#pragma GCC unroll 16
        for (int r = 0; r < DOT_ROWS; r++) {
            vec a_k = vec_load(a_rows[r] + k);
#pragma GCC unroll 4
            for (int c = 0; c < DOT_COLS; c++) acc[r][c] = vec_fma(a_k, b_k[c], acc[r][c]);
        }
    }

#pragma GCC unroll 16
    for (int r = 0; r < DOT_ROWS; r++)
#pragma GCC unroll 4
        for (int c = 0; c < DOT_COLS; c++) tile->acc[r][c] = acc[r][c];
}

/* sums[r][c]: the tile's lanes added in order, then the products at
 * k_vec <= k < K that did not fill a vector */
static void dot_finish(int k_vec, int K, const real *const a_rows[DOT_ROWS],
                       const real *const b_columns[DOT_COLS], const DotTile *tile,
                       real sums[DOT_ROWS][DOT_COLS])
{
    for (int r = 0; r < DOT_ROWS; r++) {
        for (int c = 0; c < DOT_COLS; c++) {
            real lanes[VEC_LANES];
            vec_store(lanes, tile->acc[r][c]);
            real sum = 0;
            for (int l = 0; l < VEC_LANES; l++) sum += lanes[l];
            for (int tail = k_vec; tail < K; tail++) sum += a_rows[r][tail] * b_columns[c][tail];
            sums[r][c] = sum;
        }
    }
}

static void multiply_dot(const Product *p)
{
    const int k_vec = p->K / VEC_LANES * VEC_LANES;
    const int col_tiles = ceil_div(p->N, DOT_COLS), tiles = ceil_div(p->M, DOT_ROWS) * col_tiles;
    /* the accumulators of up to max_tiles tiles at a time, in the A packing space */
    DotTile *acc = (DotTile *)pack_buffers()->a;
    const int max_tiles = (int)((size_t)MC * KC * sizeof(real) / sizeof(DotTile));
    const real *a_rows[DOT_ROWS], *b_columns[DOT_COLS];

    for (int first = 0; first < tiles; first += max_tiles) {
        const int count = min_int(max_tiles, tiles - first);
        memset(acc, 0, (size_t)count * sizeof(DotTile));
        for (int k0 = 0; k0 < k_vec; k0 += DOT_CHUNK) {
            const int k1 = min_int(k_vec, k0 + DOT_CHUNK);
            for (int t = 0; t < count; t++) {
                const int tile = first + t;
                dot_operands(p, tile / col_tiles * DOT_ROWS, tile % col_tiles * DOT_COLS, a_rows,
                             b_columns);
                dot_accumulate(k0, k1, a_rows, b_columns, &acc[t]);
            }
        }
        for (int t = 0; t < count; t++) {
            const int tile = first + t, i0 = tile / col_tiles * DOT_ROWS, j0 = tile % col_tiles * DOT_COLS;
            real sums[DOT_ROWS][DOT_COLS];
            dot_operands(p, i0, j0, a_rows, b_columns);
            dot_finish(k_vec, p->K, a_rows, b_columns, &acc[t], sums);
            update_c(&sums[0][0], DOT_COLS, min_int(DOT_ROWS, p->M - i0), min_int(DOT_COLS, p->N - j0),
                     p->alpha, p->beta, p->c + i0 * p->c_row_stride + j0 * p->c_col_stride,
                     p->c_row_stride, p->c_col_stride);
        }
    }
}

/* A transposing copy through the L2 cache costs about as much per number
 * as 16 or more multiply-adds, and each packed number is used M*N / (M + N)
 * times on average: below 16 uses, when both operands run along k and k is
 * long enough to fill the vectors, dot products win. */
static int dot_products_win(const Product *p)
{
    return p->a.col_stride == 1 && p->b.row_stride == 1 && p->K >= 4 * VEC_LANES &&
           (long)p->M * p->N < 16L * (p->M + p->N);
}

/* B read in place (see 7.): rows contiguous, not a multiple of 1 KiB apart */
static int b_in_place_wins(const Product *p)
{
    return p->b.col_stride == 1 && (p->b.row_stride * (long)sizeof(real)) % 1024 != 0;
}

/* One thread's share: rows or columns of C, by the method chosen for the
 * whole product (so the choice never depends on the number of threads). */
static void multiply_part(const Product *p)
{
    if (p->by_dot_products)
        multiply_dot(p);
    else
        multiply_blocked(p);
}

/* ---- Shape decisions and threads ------------------------------------------ */

/* Tile padding: how many elements of C tiles nr wide would cover. */
static long padded_area(int rows, int cols, int nr)
{
    return (long)ceil_div(rows, MR) * MR * ((long)ceil_div(cols, nr) * nr);
}

/* The tile width, wide or narrow, that covers C's columns with less
 * padding (the wide one on a tie: fewer loads per multiply-add). */
static int tile_vecs(int rows, int cols)
{
    return padded_area(rows, cols, NR_NARROW) < padded_area(rows, cols, NR) ? VECS_NARROW
                                                                              : VECS_PER_ROW;
}

/* C^T = b^T a^T: the same product with rows and columns exchanged. */
static Product product_transposed(const Product *p)
{
    Product t = *p;
    t.M = p->N;
    t.N = p->M;
    t.a = view_transposed(p->b);
    t.b = view_transposed(p->a);
    t.c_row_stride = p->c_col_stride;
    t.c_col_stride = p->c_row_stride;
    return t;
}

/* Rows [begin, end) of C, with the matching rows of a; or columns, with the
 * matching columns of b. */
static Product product_rows(const Product *p, int begin, int end)
{
    Product part = *p;
    part.M = end - begin;
    part.a = view_at(p->a, begin, 0);
    part.c = p->c + begin * p->c_row_stride;
    return part;
}

static Product product_columns(const Product *p, int begin, int end)
{
    Product part = *p;
    part.N = end - begin;
    part.b = view_at(p->b, 0, begin);
    part.c = p->c + begin * p->c_col_stride;
    return part;
}

/* Below this many flops a product is not worth waking a second thread
 * (starting a parallel region costs a few microseconds). */
#define MIN_FLOPS_PER_THREAD 4.0e6

static int threads_for(const Product *p, int tiles)
{
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
    double flops = 2.0 * p->M * p->N * p->K;
    int threads = omp_get_max_threads();
    if (threads > tiles) threads = tiles;
    if (threads > flops / MIN_FLOPS_PER_THREAD) threads = (int)(flops / MIN_FLOPS_PER_THREAD);
    return threads < 1 ? 1 : threads;
#else
    (void)p;
    (void)tiles;
    return 1;
#endif
}

/* Splits C into one range of whole tiles per thread. Along N (columns) when
 * C is wider than tall: every thread then packs all of a (M x K, the
 * smaller operand) and only its own columns of b; along M otherwise. */
static void multiply_threaded(const Product *p)
{
    const int split_columns = p->N >= p->M;
    const int tile = split_columns ? p->vecs * VEC_LANES : MR;
    const int extent = split_columns ? p->N : p->M;
    const int tiles = ceil_div(extent, tile);
    const int threads = threads_for(p, tiles);
    if (threads == 1) {
        multiply_part(p);
        return;
    }
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
#else
        const int t = 0, team = 1;
#endif
        /* thread t gets tiles [t * tiles / team, (t + 1) * tiles / team) */
        const int begin = min_int((int)((long)t * tiles / team) * tile, extent);
        const int end = min_int((int)((long)(t + 1) * tiles / team) * tile, extent);
        if (begin < end) {
            Product part = split_columns ? product_columns(p, begin, end)
                                         : product_rows(p, begin, end);
            multiply_part(&part);
        }
    }
}

/* C = beta * C, for the products that add nothing (K = 0 or alpha = 0). */
static void scale_c(int M, int N, real beta, real *C, int ldc)
{
    if (beta == 1) return;
    for (int i = 0; i < M; i++) {
        real *row = C + (long)i * ldc;
        for (int j = 0; j < N; j++) row[j] = beta == 0 ? 0 : beta * row[j];
    }
}

void gemm(int transA, int transB, int M, int N, int K,
          real alpha, const real *A, int lda, const real *B, int ldb,
          real beta, real *C, int ldc)
{
    assert(M >= 0 && N >= 0 && K >= 0);
    assert(lda >= (transA ? M : K) && ldb >= (transB ? K : N) && ldc >= N);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }

    /* op(A) is A (M x K, lda) or A^T (A stored K x M); likewise op(B). */
    MatrixView a = {A, lda, 1, NULL}, b = {B, ldb, 1, NULL};
    Product p = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
        .a = transA ? view_transposed(a) : a,
        .b = transB ? view_transposed(b) : b,
        .c = C, .c_row_stride = ldc, .c_col_stride = 1,
    };
    p.by_dot_products = dot_products_win(&p);
    /* the orientation and tile width that pad C least (see 6.) */
    const int vecs = tile_vecs(M, N), vecs_t = tile_vecs(N, M);
    if (!p.by_dot_products &&
        padded_area(N, M, vecs_t * VEC_LANES) < padded_area(M, N, vecs * VEC_LANES)) {
        p = product_transposed(&p);
        p.vecs = vecs_t;
    } else {
        p.vecs = vecs;
    }
    p.b_in_place = !p.by_dot_products && b_in_place_wins(&p);
    multiply_threaded(&p);
}

void gemm_rows(int transA, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, const long *b_rows, real beta, real *C, int ldc)
{
    assert(M >= 0 && N >= 0 && K >= 0);
    assert(lda >= (transA ? M : K) && ldc >= N);
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    MatrixView a = {A, lda, 1, NULL}, b = {B, 0, 1, b_rows};
    Product p = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
        .a = transA ? view_transposed(a) : a, .b = b,
        .c = C, .c_row_stride = ldc, .c_col_stride = 1,
        .by_dot_products = 0, .b_in_place = 1, /* never transposed: rows anywhere are read in place */
        .vecs = tile_vecs(M, N),
    };
    multiply_threaded(&p);
}

/* ---- The ceiling ----------------------------------------------------------
 * What the micro-kernel would reach if it did nothing but arithmetic: a
 * loop of fused multiply-adds on whole vectors, all in registers (nothing
 * loaded or stored). An FMA's result is ready only some cycles after it
 * starts (its latency, 4 on recent cores) while the core can start one or
 * two per cycle, so one chain of dependent FMAs would idle most of the
 * unit: FMA_CHAINS independent chains keep every FMA pipe busy on any of
 * the vector kinds above (12 vectors leave room for the two constants in
 * AVX2's 16 registers). The portable build uses C's fma, fused like the
 * vector instructions, where the processor the build targets has a fused
 * multiply-add (the compiler then defines FP_FAST_FMA and FP_FAST_FMAF);
 * without one, C's fma is a call into the C library for every multiply-add
 * (done in software where the processor has no FMA either: an x86-64 build
 * without -mfma measured a "peak" a twelfth of what the portable kernel
 * itself reached), so there the ceiling is the kernel's own a * b + c. */
enum { FMA_CHAINS = 12 };
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#define fused_multiply_add vec_fma
#elif defined(REAL_IS_DOUBLE) && defined(FP_FAST_FMA)
#define fused_multiply_add fma
#elif !defined(REAL_IS_DOUBLE) && defined(FP_FAST_FMAF)
#define fused_multiply_add fmaf
#else
#define fused_multiply_add vec_fma
#endif

const char *gemm_kernel_name(void)
{
#if defined(__AVX512F__)
    return "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
    return "AVX2+FMA";
#else
    return "portable C";
#endif
}

int gemm_vector_lanes(void) { return VEC_LANES; }

double gemm_fma_loop(long steps, real *result)
{
    /* acc = acc * factor + addend tends to addend / (1 - factor) = 1:
     * the values stay normal numbers, never overflow nor go subnormal */
    const vec factor = vec_broadcast((real)0.999), addend = vec_broadcast((real)0.001);
    vec acc[FMA_CHAINS];
    for (int i = 0; i < FMA_CHAINS; i++) acc[i] = vec_broadcast((real)i);
    for (long step = 0; step < steps; step++)
        for (int i = 0; i < FMA_CHAINS; i++) acc[i] = fused_multiply_add(acc[i], factor, addend);
    /* the sum is handed back so that the compiler cannot drop the loop */
    real lanes[VEC_LANES], sum = 0;
    for (int i = 0; i < FMA_CHAINS; i++) {
        vec_store(lanes, acc[i]);
        for (int lane = 0; lane < VEC_LANES; lane++) sum += lanes[lane];
    }
    *result = sum;
    return 2.0 * VEC_LANES * FMA_CHAINS * (double)steps;
}
