/** Pure rollout decisions, unit-tested apart from the fleet. */

export interface CandidateDevice {
  id: string;
  branch: string;
}

/** Canary size: under 10% of the online devices, at least one. */
export function canarySize(online: number, fraction = 0.1): number {
  if (online <= 0) return 0;
  return Math.max(1, Math.ceil(online * fraction) - 1);
}

/**
 * Picks the canary group from the online devices: `canarySize` of them, spread across branches
 * (round robin over branches, largest first), deterministic for the same input.
 */
export function selectCanary(online: readonly CandidateDevice[], fraction = 0.1): { canary: string[]; control: string[] } {
  const n = canarySize(online.length, fraction);
  const byBranch = new Map<string, string[]>();
  for (const d of [...online].sort((a, b) => a.id.localeCompare(b.id))) byBranch.set(d.branch, [...(byBranch.get(d.branch) ?? []), d.id]);
  const queues = [...byBranch.entries()].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0])).map(([, ids]) => ids);
  const canary: string[] = [];
  for (let round = 0; canary.length < n; round++) {
    for (const q of queues) {
      const id = q[round];
      if (id !== undefined && canary.length < n) canary.push(id);
    }
  }
  const chosen = new Set(canary);
  return { canary, control: online.map((d) => d.id).filter((id) => !chosen.has(id)).sort() };
}

export interface GroupFigures {
  devices: number;
  requests: number;
  errors: number;
  p95Ms: number;
  /** Branch managers' corrections of the AI, and the confirmations they are out of. */
  corrections: number;
  confirmations: number;
}

export interface RolloutThresholds {
  observeMs: number;
  /** A canary device must report the new version active within this time, or it counts as failed. */
  reportTimeoutMs: number;
  maxErrorRate: number;
  /** The canary's error rate may exceed the control's by at most this much. */
  errorRateMargin: number;
  p95Factor: number;
  minP95DeltaMs: number;
  maxCorrectionRateDelta: number;
  minRequests: number;
}

export type RolloutVerdict = { kind: 'hold'; reason: string } | { kind: 'promote'; reason: string } | { kind: 'abort'; reason: string };

/**
 * Compares the canary with the control group. Aborts at once on a device rollback or a device
 * that never reported; after the observation window, promotes when the canary holds.
 */
export function judgeRollout(input: {
  canary: GroupFigures;
  control: GroupFigures;
  elapsedMs: number;
  notReported: string[];
  rolledBack: string[];
  t: RolloutThresholds;
}): RolloutVerdict {
  const { canary: c, control: k, t } = input;
  if (input.rolledBack.length > 0) return { kind: 'abort', reason: `canary device(s) rolled back by themselves: ${input.rolledBack.join(', ')}` };
  if (input.notReported.length > 0 && input.elapsedMs >= t.reportTimeoutMs) {
    return { kind: 'abort', reason: `canary device(s) did not report the new version within ${t.reportTimeoutMs} ms: ${input.notReported.join(', ')}` };
  }
  const rate = c.requests > 0 ? c.errors / c.requests : 0;
  const controlRate = k.requests > 0 ? k.errors / k.requests : 0;
  if (c.requests >= t.minRequests && (rate > t.maxErrorRate || rate > controlRate + t.errorRateMargin)) {
    return { kind: 'abort', reason: `canary error rate ${(rate * 100).toFixed(1)}% vs control ${(controlRate * 100).toFixed(1)}%` };
  }
  if (c.requests >= t.minRequests && k.requests >= t.minRequests && c.p95Ms > k.p95Ms * t.p95Factor && c.p95Ms - k.p95Ms >= t.minP95DeltaMs) {
    return { kind: 'abort', reason: `canary p95 ${c.p95Ms.toFixed(1)} ms vs control ${k.p95Ms.toFixed(1)} ms` };
  }
  const cr = c.confirmations > 0 ? c.corrections / c.confirmations : 0;
  const kr = k.confirmations > 0 ? k.corrections / k.confirmations : 0;
  if (c.confirmations > 0 && cr - kr > t.maxCorrectionRateDelta) {
    return { kind: 'abort', reason: `canary correction rate ${(cr * 100).toFixed(1)}% vs control ${(kr * 100).toFixed(1)}%` };
  }
  if (input.elapsedMs < t.observeMs) return { kind: 'hold', reason: 'observing' };
  if (input.notReported.length > 0) return { kind: 'hold', reason: 'waiting for canary reports' };
  if (c.requests < t.minRequests) {
    // Too little traffic to judge: wait, but not forever; an admin can still promote by hand.
    if (input.elapsedMs >= t.observeMs * 4) return { kind: 'abort', reason: `only ${c.requests} canary requests in ${input.elapsedMs} ms: not enough to judge` };
    return { kind: 'hold', reason: `waiting for canary traffic (${c.requests}/${t.minRequests} requests)` };
  }
  return { kind: 'promote', reason: `canary held for ${t.observeMs} ms: ${c.requests} requests, ${c.errors} errors, p95 ${c.p95Ms.toFixed(1)} ms` };
}
