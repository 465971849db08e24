import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalize, MODEL_TYPE_OF_ROLE, type PreprocessSpec, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import type { VerifyJob } from '../sandbox/job.js';
import { runSandbox } from '../sandbox/sandbox.js';
import { judge } from '../sandbox/verdict.js';
import type { Dataset } from './laundry-pipeline.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { CandidateHeld, CandidateRejected, type StageContext } from './saga.js';

export interface ExportOutput {
  onnxFile: string;
  onnxSha256: string;
  preprocess: PreprocessSpec;
  labels: string[];
  threshold?: number;
}

export interface VerifyOutput {
  reportSha256: string;
  verdict: 'pass' | 'hold';
  metrics: Record<string, number>;
  serviceVersion: number | null;
}

/**
 * Runs the sandbox, judges, and stores the report (figures, confusion matrices, limits, dataset
 * hashes) in the run folder; its sha256 goes into the signed manifest. A rejected candidate ends
 * the run; a drifted one is held.
 */
export async function verifyWith(deps: PipelineDeps, ctx: StageContext, job: Omit<VerifyJob, 'out' | 'perf'>, serviceVersion: number | null): Promise<Record<string, unknown>> {
  const c = deps.config.sandbox;
  const full: VerifyJob = { ...job, perf: { requests: c.requests, concurrency: c.concurrency }, out: join(ctx.dir, 'sandbox-report.json') };
  const outcome = await runSandbox(full, join(ctx.dir, 'verify-job.json'), { memoryBytes: c.memoryBytes, timeoutMs: c.timeoutMs }, ctx.log);
  const verdict = judge(outcome, deps.config.thresholds);
  const prepared = ctx.output('prepare');
  const report = {
    runId: ctx.run.id,
    modelType: ctx.run.modelType,
    candidateSha256: ctx.output<ExportOutput>('export').onnxSha256,
    serviceVersion,
    dataset: { datasetSha256: prepared.datasetSha256, holdoutSha256: prepared.holdoutSha256 },
    limits: { ...deps.config.thresholds, sandbox: { memoryBytes: c.memoryBytes, timeoutMs: c.timeoutMs } },
    outcome,
    verdict,
  };
  const text = canonicalize(report);
  const reportSha256 = sha256Hex(text);
  await writeFileAtomic(join(ctx.dir, 'verification-report.json'), text);
  deps.store.update(ctx.run.id, { reportSha256 });
  const metrics = outcome.ok ? summarise(outcome.report) : {};
  const out = { reportSha256, metrics, serviceVersion, reasons: verdict.reasons };
  if (verdict.verdict === 'reject') throw new CandidateRejected(verdict.reasons.join('; '), out);
  if (verdict.verdict === 'hold') throw new CandidateHeld(verdict.reasons.join('; '), { ...out, verdict: 'hold' });
  return { ...out, verdict: 'pass' };
}

function summarise(r: import('../sandbox/job.js').SandboxReport): Record<string, number> {
  const out: Record<string, number> = {
    avgLatencyMs: r.perf.avgLatencyMs,
    throughputRps: r.perf.throughputRps,
    peakRssMb: r.perf.peakRssMb,
  };
  for (const [split, m] of Object.entries(r.candidate)) {
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[`${split}.${k}`] = v;
  }
  if (r.drift !== null) out.drift = r.drift;
  return out;
}

/** Laundry: candidate vs the active version on the run's validation and fixed holdout photos. */
export async function verifyStage(deps: PipelineDeps, ctx: StageContext): Promise<Record<string, unknown>> {
  const exp = ctx.output<ExportOutput>('export');
  const dataset = JSON.parse(await readFile(join(ctx.dir, 'dataset.json'), 'utf8')) as Dataset;
  const active = deps.registry.active('laundry');
  const net = active?.signed.signed.files.find((f) => f.role === 'network');
  const service = active && net ? { network: deps.artifacts.pathOf(net.sha256), preprocess: active.signed.signed.preprocess, labels: active.signed.signed.labels } : null;
  const labelled = (items: Dataset['validation']) => items.map((i) => ({ file: i.file, label: i.label }));
  return verifyWith(
    deps,
    ctx,
    {
      modelType: 'laundry',
      candidate: { network: exp.onnxFile, preprocess: exp.preprocess, labels: exp.labels },
      service,
      validation: labelled(dataset.validation),
      holdout: labelled(dataset.holdout),
      gallery: [],
      samples: [],
    },
    active?.version ?? null,
  );
}

/** Signs and registers the verified candidate (idempotent: a resumed run finds its version by the report hash). */
export async function registerStage(deps: PipelineDeps, ctx: StageContext): Promise<Record<string, unknown>> {
  const exp = ctx.output<ExportOutput>('export');
  const ver = ctx.output<VerifyOutput>('verify');
  const mt = ctx.run.modelType;
  const existing = deps.registry.list(mt).find((v) => v.signed.signed.evidenceSha256 === ver.reportSha256);
  const rec =
    existing ??
    (await deps.registry.registerNetwork(
      { modelType: mt, onnx: await readFile(exp.onnxFile), preprocess: exp.preprocess, labels: exp.labels },
      { label: `${mt} training run ${ctx.run.id}`, status: 'verified', parentVersion: ver.serviceVersion, metrics: ver.metrics, evidenceSha256: ver.reportSha256 },
    ));
  deps.store.update(ctx.run.id, { candidateVersion: rec.version });
  return { version: rec.version, reused: existing !== undefined };
}

/**
 * Hands the candidate to the canary rollout. With no online device to canary on, it becomes the
 * fleet's version directly (devices get it when they come online). Idempotent on resume.
 */
export async function rolloutStage(deps: PipelineDeps, ctx: StageContext): Promise<Record<string, unknown>> {
  const registered = ctx.output<{ version: number }>('register').version;
  const mt = ctx.run.modelType;
  // On resume, this run's rollout or activation is found again: by the run's candidate version, or by
  // the evidence hash its candidate carries, which every gallery rebuild of it keeps (a rebuild before
  // a crash, a member change during its canary).
  const evidence = deps.registry.get(mt, registered).signed.signed.evidenceSha256;
  const ours = (v: number | undefined): boolean => {
    if (v === undefined) return false;
    if (v === registered || v === ctx.run.candidateVersion) return true;
    try {
      return evidence !== null && deps.registry.get(mt, v).signed.signed.evidenceSha256 === evidence;
    } catch {
      return false;
    }
  };
  const existing = deps.rollouts.list().find((r) => r.modelType === mt && ours(r.version));
  if (existing) return { rolloutId: existing.id, canary: existing.canary };
  if (ours(deps.registry.active(mt)?.version)) return { activated: true };
  // A face candidate ships with a gallery of today's members (it may have been held for approval).
  const from = mt === 'face' ? (ctx.run.candidateVersion ?? registered) : registered;
  const version = mt === 'face' ? (await deps.faces.upToDate(deps.registry.get(mt, from))).version : registered;
  if (version !== registered) deps.store.update(ctx.run.id, { candidateVersion: version });
  const online = deps.fleet.list().filter((d) => MODEL_TYPE_OF_ROLE[d.role] === mt && d.status === 'online' && !d.revoked);
  if (online.length === 0) {
    deps.registry.setStatus(mt, version, 'active');
    const devices = await deps.rollout.deploy(mt, version);
    return { activated: true, devices: devices.length };
  }
  const r = await deps.rollouts.begin(mt, version);
  return { rolloutId: r.id, canary: r.canary };
}
