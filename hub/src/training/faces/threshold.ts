/**
 * Choosing the face match threshold from enrolment data only, and the gallery-matching rule the
 * device uses (a member's score is the max cosine similarity over its templates).
 *
 * Calibration: the enrolled members are split (seeded) into calibration members and pseudo-strangers;
 * a calibration network is trained on all but the last enrolled photo of each calibration member;
 * the held-out photo gives a genuine score, every enrolled photo of a pseudo-stranger an impostor
 * score (best match in the calibration gallery). The threshold sits between the two distributions.
 */

export interface GalleryTemplates {
  memberId: string;
  embeddings: readonly Float32Array[];
}

export interface Match {
  memberId: string;
  score: number;
  secondScore: number;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Best member for a unit-length embedding (templates are unit length too), or null for no members. */
export function matchGallery(gallery: readonly GalleryTemplates[], embedding: Float32Array): Match | null {
  let best: Match | null = null;
  let second = -1;
  for (const m of gallery) {
    let s = -Infinity;
    for (const t of m.embeddings) s = Math.max(s, dot(t, embedding));
    if (best === null || s > best.score) {
      if (best !== null) second = Math.max(second, best.score);
      best = { memberId: m.memberId, score: s, secondScore: -1 };
    } else second = Math.max(second, s);
  }
  if (best !== null) best.secondScore = second;
  return best;
}

export interface ScoreSets {
  /** Best own-member score of genuine probes whose best match was their own member. */
  genuine: number[];
  /** Best score of probes from identities not in the gallery (or best wrong-member score). */
  impostor: number[];
}

export interface ThresholdChoice {
  threshold: number;
  /** How it was chosen, for reports. */
  rule: string;
  genuineCount: number;
  impostorCount: number;
  maxImpostor: number;
  minGenuine: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/**
 * Threshold between impostor and genuine scores. FAR is weighted above FRR: the threshold is the
 * midpoint between the highest impostor score and the genuine `genuineQuantile` (default 5%)
 * quantile, never below the highest impostor score plus `minMargin`, with `fallback` when a set is empty.
 */
export function chooseThreshold(scores: ScoreSets, opts: { genuineQuantile?: number; minMargin?: number; fallback?: number } = {}): ThresholdChoice {
  const g = [...scores.genuine].sort((a, b) => a - b);
  const im = [...scores.impostor].sort((a, b) => a - b);
  const maxImpostor = im.length > 0 ? (im[im.length - 1] as number) : Number.NaN;
  const minGenuine = g.length > 0 ? (g[0] as number) : Number.NaN;
  const base = { genuineCount: g.length, impostorCount: im.length, maxImpostor, minGenuine };
  if (g.length === 0 || im.length === 0) {
    return { ...base, threshold: opts.fallback ?? 0.5, rule: 'fallback (no genuine or impostor calibration scores)' };
  }
  const q = opts.genuineQuantile ?? 0.05;
  const lowGenuine = quantile(g, q);
  const mid = (maxImpostor + lowGenuine) / 2;
  const floor = maxImpostor + (opts.minMargin ?? 0.02);
  const threshold = Math.max(mid, floor);
  return { ...base, threshold, rule: `max(midpoint(max impostor, genuine q${q}), max impostor + ${opts.minMargin ?? 0.02})` };
}

export interface ScoreSummary {
  genuineMin: number;
  genuineP02: number;
  genuineMedian: number;
  strangerMedian: number;
  strangerP99: number;
  strangerMax: number;
  /** Oracle operating point from test scores (reports only): the lowest threshold with FAR <= 1% and its FRR. */
  oracleThresholdFar01: number;
  oracleFrrFar01: number;
}

/** Test-score summary for reports (genuine: correct member probes' scores; stranger: stranger probes' best scores). */
export function summariseScores(genuine: number[], stranger: number[], probes: number): ScoreSummary {
  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number);
  };
  const r = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    genuineMin: r(q(genuine, 0)),
    genuineP02: r(q(genuine, 0.02)),
    genuineMedian: r(q(genuine, 0.5)),
    strangerMedian: r(q(stranger, 0.5)),
    strangerP99: r(q(stranger, 0.99)),
    strangerMax: r(q(stranger, 1)),
    ...oracle(genuine, stranger, probes),
  };
}

function oracle(genuine: number[], stranger: number[], probes: number): { oracleThresholdFar01: number; oracleFrrFar01: number } {
  const s = [...stranger].sort((a, b) => b - a);
  const allowed = Math.floor(s.length * 0.01);
  const t = s.length === 0 ? -1 : (s[allowed] as number) + 1e-6;
  const accepted = genuine.filter((g) => g >= t).length;
  return { oracleThresholdFar01: Math.round(t * 1e4) / 1e4, oracleFrrFar01: probes === 0 ? 0 : Math.round((1 - accepted / probes) * 1e4) / 1e4 };
}
