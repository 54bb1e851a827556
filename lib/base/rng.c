// SPDX-License-Identifier: MIT
/*
 * xoshiro256** with splitmix64 seeding (public-domain algorithms by Blackman
 * and Vigna), implemented here from their published description. The kernel
 * uses prandom for test randomness; determinism matters more to us than speed.
 */
#include <stdlib.h>
#include <gmemsim/rng.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void gs_rng_seed(struct gs_rng *rng, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

uint64_t gs_rng_next(struct gs_rng *rng)
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

uint64_t gs_rng_below(struct gs_rng *rng, uint64_t bound)
{
	uint64_t threshold, r;

	if (bound == 0)
		return 0;
	/* Rejection sampling keeps every value equally likely. */
	threshold = -bound % bound;
	do {
		r = gs_rng_next(rng);
	} while (r < threshold);
	return r % bound;
}

uint64_t gs_seed_from_env(uint64_t fallback)
{
	const char *s = getenv("GMEMSIM_SEED");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return fallback;
	v = strtoull(s, &end, 0);
	return *end ? fallback : (uint64_t)v;
}
