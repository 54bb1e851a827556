/* SPDX-License-Identifier: MIT */
/*
 * The project's seeded pseudo-random generator (xoshiro256**, seeded through
 * splitmix64). Every random choice in gmemsim draws from one of these, so the
 * same seed gives the same run, bit for bit.
 */
#ifndef GMEMSIM_RNG_H
#define GMEMSIM_RNG_H

#include <gmemsim/compiler.h>

struct gs_rng {
	uint64_t s[4];
};

/** gs_rng_seed() - (re)start @rng from @seed; any seed, 0 included, is valid */
GS_API void gs_rng_seed(struct gs_rng *rng, uint64_t seed);

/** gs_rng_next() - next 64 random bits */
GS_API uint64_t gs_rng_next(struct gs_rng *rng);

/** gs_rng_below() - uniform value in [0, @bound); 0 when @bound is 0 */
GS_API uint64_t gs_rng_below(struct gs_rng *rng, uint64_t bound);

/** gs_seed_from_env() - GMEMSIM_SEED if set and valid, else @fallback */
GS_API uint64_t gs_seed_from_env(uint64_t fallback);

#endif /* GMEMSIM_RNG_H */
