/* rng.h: a small, seedable random number generator (xoshiro256**).
 *
 * The workbench never uses rand(): results must be the same on every
 * machine for the same seed, so that a lesson's numbers can be printed in
 * the teacher's guide and a training run can be repeated byte for byte. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} Rng;

void rng_seed(Rng *rng, uint64_t seed);
uint64_t rng_next(Rng *rng);           /* 64 uniform random bits */
double rng_uniform(Rng *rng);          /* uniform in [0, 1) */
double rng_range(Rng *rng, double lo, double hi); /* uniform in [lo, hi) */
double rng_normal(Rng *rng);           /* standard normal (Box-Muller) */
uint32_t rng_below(Rng *rng, uint32_t n); /* uniform integer in [0, n) */
void rng_shuffle(Rng *rng, int *items, int count); /* Fisher-Yates */

#endif
