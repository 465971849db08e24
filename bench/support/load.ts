/** Open-loop HTTP load: request i is sent at start + i/rate whatever the answers, as real clients would. */
export interface Sample {
  sentAt: number;
  latencyMs: number;
  ok: boolean;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}

export class OpenLoopLoad {
  readonly samples: Sample[] = [];
  private stopped = false;
  private inflight = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    private readonly body: Buffer,
    private readonly ratePerSec: number,
  ) {}

  /** Runs until `stop()`; resolves when every request sent has settled. */
  async run(): Promise<void> {
    const start = performance.now();
    let i = 0;
    while (!this.stopped) {
      const due = start + (i * 1000) / this.ratePerSec;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (this.stopped) break;
      i++;
      const p = this.one();
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    await Promise.all(this.inflight);
  }

  stop(): void {
    this.stopped = true;
  }

  private async one(): Promise<void> {
    const sentAt = performance.now();
    let ok = false;
    try {
      const res = await fetch(this.url, { method: 'POST', body: this.body, headers: { 'content-type': 'image/jpeg' } });
      ok = res.status === 200;
      await res.arrayBuffer();
    } catch {
      ok = false;
    }
    this.samples.push({ sentAt, latencyMs: performance.now() - sentAt, ok });
  }
}
