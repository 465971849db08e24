import type { Logger, ModelType } from '@edgeloop/shared';

export interface WindowStats {
  count: number;
  errors: number;
  p95: number;
}

export interface StatsSource {
  /** Figures of one version from samples at or after `sinceMs`. */
  since(modelType: ModelType, version: number, sinceMs: number): WindowStats;
}

export interface WatchThresholds {
  /** How long after a swap the new model is watched. */
  windowMs: number;
  /** Errors needed before an error rate can breach (one stray failure is not a verdict). */
  minErrors: number;
  /** Error rate above which the new model breaches, whatever the old one did. */
  maxErrorRate: number;
  /** Requests needed before latency can breach. */
  minRequests: number;
  /** p95 latency (ms) above which the new model breaches. */
  maxP95Ms: number;
  /** Breach when the new p95 exceeds the previous model's by this factor… */
  p95Factor: number;
  /** …and by at least this many ms (so 1 ms → 2.5 ms is no breach). */
  minP95DeltaMs: number;
}

export type WatchVerdict =
  | { kind: 'hold' }
  | { kind: 'passed' }
  | { kind: 'breach'; reason: string; candidate: WindowStats; previous: WindowStats | null };

/** Pure: does the new model's window breach the thresholds or fall clearly behind the previous model? */
export function evaluateWatch(input: { candidate: WindowStats; previous: WindowStats | null; elapsedMs: number; t: WatchThresholds }): WatchVerdict {
  const { candidate: c, previous: p, t } = input;
  const rate = c.count > 0 ? c.errors / c.count : 0;
  const prevRate = p && p.count > 0 ? p.errors / p.count : 0;
  if (c.errors >= t.minErrors && rate > t.maxErrorRate && rate > prevRate) {
    return { kind: 'breach', reason: `error rate ${(rate * 100).toFixed(1)}% (${c.errors}/${c.count}) over ${(t.maxErrorRate * 100).toFixed(1)}%`, candidate: c, previous: p };
  }
  const okCount = c.count - c.errors;
  if (okCount >= t.minRequests) {
    if (c.p95 > t.maxP95Ms) return { kind: 'breach', reason: `p95 ${c.p95.toFixed(1)} ms over ${t.maxP95Ms} ms`, candidate: c, previous: p };
    if (p && p.count >= t.minRequests && c.p95 > p.p95 * t.p95Factor && c.p95 - p.p95 >= t.minP95DeltaMs) {
      return { kind: 'breach', reason: `p95 ${c.p95.toFixed(1)} ms vs ${p.p95.toFixed(1)} ms before the swap`, candidate: c, previous: p };
    }
  }
  return input.elapsedMs >= t.windowMs ? { kind: 'passed' } : { kind: 'hold' };
}

/**
 * Watches the model just switched in. Evaluates every `checkIntervalMs` (and on demand), calls
 * `onBreach` once on a breach, and ends when the window passes or `stop` is called.
 */
export class WatchWindow {
  private timer: NodeJS.Timeout | null = null;
  private watched: { version: number; previousVersion: number | null; since: number; previous: WindowStats | null } | null = null;

  constructor(
    private readonly o: {
      modelType: ModelType;
      stats: StatsSource;
      thresholds: WatchThresholds;
      checkIntervalMs: number;
      onBreach: (version: number, verdict: Extract<WatchVerdict, { kind: 'breach' }>) => void;
      log: Logger;
      now?: () => number;
    },
  ) {}

  get version(): number | null {
    return this.watched?.version ?? null;
  }

  /** Starts watching `version`; `previous` are the figures of the model it replaced, taken before the swap. */
  start(version: number, previousVersion: number | null, previous: WindowStats | null): void {
    this.stop();
    this.watched = { version, previousVersion, since: this.now(), previous };
    this.timer = setInterval(() => this.check(), this.o.checkIntervalMs);
    this.timer.unref();
  }

  check(): WatchVerdict {
    const w = this.watched;
    if (!w) return { kind: 'passed' };
    const candidate = this.o.stats.since(this.o.modelType, w.version, w.since);
    const verdict = evaluateWatch({ candidate, previous: w.previous, elapsedMs: this.now() - w.since, t: this.o.thresholds });
    if (verdict.kind === 'breach') {
      this.stop();
      this.o.log.warn({ version: w.version, reason: verdict.reason, candidate: verdict.candidate, previous: verdict.previous }, 'watch window breached');
      this.o.onBreach(w.version, verdict);
    } else if (verdict.kind === 'passed') {
      this.o.log.info({ version: w.version, candidate }, 'watch window passed');
      this.stop();
    }
    return verdict;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watched = null;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
