import type { ClassMetrics, FaceMetrics } from './job.js';
import type { SandboxOutcome } from './sandbox.js';

export interface VerifyThresholds {
  laundry: { minValAccuracy: number; minHoldoutAccuracy: number; minClassRecall: number };
  face: { maxFar: number; maxFrr: number; maxDrift: number; serviceTolerance: number };
  perf: { maxAvgLatencyMs: number; maxMemoryMb: number; minThroughputRps: number };
}

/** The design notes' figures. */
export const DEFAULT_THRESHOLDS: VerifyThresholds = {
  laundry: { minValAccuracy: 0.9, minHoldoutAccuracy: 0.88, minClassRecall: 0.9 },
  face: { maxFar: 0.01, maxFrr: 0.05, maxDrift: 0.25, serviceTolerance: 0.01 },
  perf: { maxAvgLatencyMs: 200, maxMemoryMb: 2048, minThroughputRps: 50 },
};

export interface Verdict {
  verdict: 'pass' | 'reject' | 'hold';
  /** Every limit the candidate missed (reject) or the reason to hold. */
  reasons: string[];
}

const pct = (x: number) => x.toFixed(3);

/**
 * TFX Evaluator + InfraValidator in one pure function: a candidate passes when it is servable
 * (the sandbox finished within its limits), meets every quality and speed limit and is better than
 * the model in service; a face candidate that passes but whose nightly data drifted too far from
 * the enrolment photos is held for an admin.
 */
export function judge(outcome: SandboxOutcome, t: VerifyThresholds): Verdict {
  if (!outcome.ok) return { verdict: 'reject', reasons: [`sandbox ${outcome.failure}: ${outcome.detail}`] };
  const r = outcome.report;
  const reasons: string[] = [];
  const p = r.perf;
  if (p.avgLatencyMs > t.perf.maxAvgLatencyMs) reasons.push(`average latency ${p.avgLatencyMs.toFixed(1)} ms > ${t.perf.maxAvgLatencyMs} ms`);
  if (p.peakRssMb > t.perf.maxMemoryMb) reasons.push(`memory ${p.peakRssMb.toFixed(0)} MB > ${t.perf.maxMemoryMb} MB`);
  if (p.failedRequests > 0) reasons.push(`${p.failedRequests} requests of the speed test failed`);
  if (p.throughputRps < t.perf.minThroughputRps) reasons.push(`throughput ${p.throughputRps.toFixed(1)}/s < ${t.perf.minThroughputRps}/s`);
  if (r.modelType === 'laundry') {
    const v = r.candidate.validation as ClassMetrics;
    const h = r.candidate.holdout as ClassMetrics;
    if (v.errors + h.errors > 0) reasons.push(`${v.errors + h.errors} photos failed to classify`);
    if (v.accuracy < t.laundry.minValAccuracy) reasons.push(`validation accuracy ${pct(v.accuracy)} < ${t.laundry.minValAccuracy}`);
    if (h.n > 0 && h.accuracy < t.laundry.minHoldoutAccuracy) reasons.push(`holdout accuracy ${pct(h.accuracy)} < ${t.laundry.minHoldoutAccuracy}`);
    for (const [label, recall] of Object.entries(v.perClass)) {
      if (recall < t.laundry.minClassRecall) reasons.push(`class ${label}: recall ${pct(recall)} < ${t.laundry.minClassRecall}`);
    }
    const s = r.service?.validation as ClassMetrics | undefined;
    if (s && !(v.accuracy > s.accuracy || (v.accuracy === 1 && s.accuracy === 1))) {
      reasons.push(`validation accuracy ${pct(v.accuracy)} does not beat the model in service (${pct(s.accuracy)})`);
    }
  } else {
    const h = r.candidate.holdout as FaceMetrics;
    if (h.errors > 0) reasons.push(`${h.errors} face crops failed to embed`);
    if (h.probes === 0) reasons.push('no human-labelled holdout photos to test on');
    if (h.far > t.face.maxFar) reasons.push(`holdout FAR ${pct(h.far)} > ${t.face.maxFar}`);
    if (h.frr > t.face.maxFrr) reasons.push(`holdout FRR ${pct(h.frr)} > ${t.face.maxFrr}`);
    const s = r.service?.holdout as FaceMetrics | undefined;
    if (s && (h.far > s.far + t.face.serviceTolerance || h.frr > s.frr + t.face.serviceTolerance)) {
      reasons.push(`holdout FAR/FRR ${pct(h.far)}/${pct(h.frr)} worse than the model in service (${pct(s.far)}/${pct(s.frr)})`);
    }
  }
  if (reasons.length > 0) return { verdict: 'reject', reasons };
  if (r.drift !== null && r.drift > t.face.maxDrift) return { verdict: 'hold', reasons: [`nightly samples drifted ${r.drift.toFixed(3)} from the enrolment photos (> ${t.face.maxDrift})`] };
  return { verdict: 'pass', reasons: [] };
}
