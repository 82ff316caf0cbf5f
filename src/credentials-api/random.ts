/**
 * A tiny seedable PRNG (mulberry32). Fault injection draws from it instead of Math.random so a test that sets a
 * seed gets the same sequence of injected failures on every run. Not for anything secret: token values and keys
 * come from node:crypto.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  reseed(seed: number): void;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    reseed(next: number) {
      state = next >>> 0;
    },
  };
}
