import type { ModelType } from '@edgeloop/shared';
import type { InferenceObserver } from '../inference/inference-service.js';

/** Figures for one model version. Latencies in milliseconds. */
export interface VersionStats {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

export const DEFAULT_STATS_WINDOW = 4096;

/** Fixed-size ring of the latest samples of one version, plus cumulative counters. */
class SampleRing {
  readonly latency: Float64Array;
  readonly at: Float64Array;
  readonly ok: Uint8Array;
  /** Next slot to write. */
  head = 0;
  /** Samples currently held (≤ capacity). */
  size = 0;
  /** Cumulative since start (not bounded by the window). */
  count = 0;
  errors = 0;

  constructor(capacity: number) {
    this.latency = new Float64Array(capacity);
    this.at = new Float64Array(capacity);
    this.ok = new Uint8Array(capacity);
  }

  push(latencyMs: number, atMs: number, ok: boolean): void {
    const i = this.head;
    this.latency[i] = latencyMs;
    this.at[i] = atMs;
    this.ok[i] = ok ? 1 : 0;
    const cap = this.latency.length;
    this.head = i + 1 === cap ? 0 : i + 1;
    if (this.size < cap) this.size++;
    this.count++;
    if (!ok) this.errors++;
  }
}

const EMPTY: Readonly<VersionStats> = Object.freeze({ count: 0, errors: 0, p50: 0, p95: 0, p99: 0 });

/**
 * Nearest-rank percentile of the first `n` values of an ascending array:
 * the value at 1-based rank ⌈p/100 · n⌉ (so for 1..100, p50 = 50, p95 = 95, p99 = 99).
 * `p` is an integer percent so the rank is computed exactly. Returns 0 for n = 0.
 */
export function nearestRank(sorted: ArrayLike<number>, n: number, p: number): number {
  if (n <= 0) return 0;
  const rank = Math.min(n, Math.max(1, Math.ceil((p * n) / 100)));
  return sorted[rank - 1] ?? 0;
}

/**
 * Per-version inference counters and latency percentiles.
 *
 * Each `modelType@version` keeps a ring buffer of its latest `windowSize` samples
 * (latency, timestamp from the injected `now` clock, ok flag). `record()` is O(1) and does not
 * allocate once the version has been seen. Percentiles are nearest-rank over the kept samples,
 * failed requests included (their latency is what the caller waited).
 */
export class InferenceStats implements InferenceObserver {
  private readonly windowSize: number;
  private readonly now: () => number;
  /** modelType → version → ring. Nested maps so that the hot path builds no key string. */
  private readonly rings = new Map<ModelType, Map<number, SampleRing>>();
  /** Sort buffer reused by the read side. */
  private readonly scratch: Float64Array;

  constructor(opts: { windowSize?: number; now?: () => number } = {}) {
    const windowSize = opts.windowSize ?? DEFAULT_STATS_WINDOW;
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new RangeError(`windowSize must be a positive integer, got ${windowSize}`);
    this.windowSize = windowSize;
    this.now = opts.now ?? Date.now;
    this.scratch = new Float64Array(windowSize);
  }

  record(modelType: ModelType, version: number, latencyMs: number, ok: boolean): void {
    let byVersion = this.rings.get(modelType);
    if (byVersion === undefined) {
      byVersion = new Map();
      this.rings.set(modelType, byVersion);
    }
    let ring = byVersion.get(version);
    if (ring === undefined) {
      ring = new SampleRing(this.windowSize);
      byVersion.set(version, ring);
    }
    // A negative or non-finite latency (clock oddity) would break the non-negative contract.
    ring.push(latencyMs >= 0 && latencyMs < Number.POSITIVE_INFINITY ? latencyMs : 0, this.now(), ok);
  }

  /** Per `${modelType}@${version}`: cumulative count and errors since start, percentiles over the kept window (0 when no samples). */
  snapshot(): Record<string, VersionStats> {
    const out: Record<string, VersionStats> = {};
    for (const [modelType, byVersion] of this.rings) {
      for (const [version, ring] of byVersion) {
        out[statsKey(modelType, version)] = this.summarize(ring, Number.NEGATIVE_INFINITY, true);
      }
    }
    return out;
  }

  /**
   * Figures for one version from samples recorded at or after `sinceMs` (by the `now` clock) only.
   * Only samples still in the window are seen: with more than `windowSize` samples since `sinceMs`,
   * count and errors are of the latest `windowSize` of them.
   */
  since(modelType: ModelType, version: number, sinceMs: number): VersionStats {
    const ring = this.rings.get(modelType)?.get(version);
    return ring ? this.summarize(ring, sinceMs, false) : { ...EMPTY };
  }

  /** Drops versions whose `${modelType}@${version}` key is not in `keep`. */
  retain(keep: Iterable<string>): void {
    const wanted = new Set(keep);
    for (const [modelType, byVersion] of this.rings) {
      for (const version of [...byVersion.keys()]) {
        if (!wanted.has(statsKey(modelType, version))) byVersion.delete(version);
      }
      if (byVersion.size === 0) this.rings.delete(modelType);
    }
  }

  private summarize(ring: SampleRing, sinceMs: number, cumulative: boolean): VersionStats {
    const buf = this.scratch;
    let n = 0;
    let errors = 0;
    for (let i = 0; i < ring.size; i++) {
      if ((ring.at[i] ?? 0) < sinceMs) continue;
      buf[n++] = ring.latency[i] ?? 0;
      if (ring.ok[i] === 0) errors++;
    }
    const sorted = buf.subarray(0, n).sort();
    return {
      count: cumulative ? ring.count : n,
      errors: cumulative ? ring.errors : errors,
      p50: nearestRank(sorted, n, 50),
      p95: nearestRank(sorted, n, 95),
      p99: nearestRank(sorted, n, 99),
    };
  }
}

/** The key used in snapshots and telemetry: `<modelType>@<version>`. */
export function statsKey(modelType: ModelType, version: number): string {
  return `${modelType}@${version}`;
}
