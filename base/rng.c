#include "rng.h"

#include <math.h>

/* splitmix64 spreads one seed over the 256-bit state, as the xoshiro
 * authors recommend. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(Rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(Rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(Rng *rng)
{
    return (double)(rng_next(rng) >> 11) * 0x1.0p-53; /* 53 random bits */
}

double rng_range(Rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * rng_uniform(rng);
}

double rng_normal(Rng *rng)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u = 1.0 - rng_uniform(rng), v = rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

uint32_t rng_below(Rng *rng, uint32_t n)
{
    /* Lemire's multiply-shift; the tiny bias (< n / 2^32) does not matter here. */
    return (uint32_t)(((rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

void rng_shuffle(Rng *rng, int *items, int count)
{
    for (int i = count - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint32_t)i + 1);
        int t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}
