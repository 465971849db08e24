/** mulberry32: small, fast, deterministic PRNG for reproducible weights and data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** He-uniform initialised weights. */
export function heUniform(rand: () => number, count: number, fanIn: number): Float32Array {
  const limit = Math.sqrt(6 / fanIn);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * limit;
  return out;
}

/** A seeded Fisher–Yates shuffle (a new array). */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return shuffleWith(items, seededRandom(seed));
}

/** Fisher–Yates shuffle (a new array) drawing from `rand`, so a caller can continue one random stream. */
export function shuffleWith<T>(items: readonly T[], rand: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** 0..n-1 in the order `shuffleWith` gives. */
export function shuffledIndices(n: number, rand: () => number): number[] {
  return shuffleWith(
    Array.from({ length: n }, (_, i) => i),
    rand,
  );
}
