/**
 * The sandbox verifier's child process: loads the candidate (and the model in service) with the
 * device's own onnxruntime wrapper and preprocessing, measures accuracy and speed, writes the report
 * to `job.out` and exits. The parent enforces the memory limit and the deadline; anything this
 * process does wrong (crash, hang, runaway memory) is contained here.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { classifyLaundry, type OnnxModel, writeFileAtomic } from '@edgeloop/shared';
import { driftOf, embed, faceMetrics, laundryMetrics, loadNet } from './evaluate.js';
import { type PerfMetrics, type SandboxReport, type VerifyJob, verifyJobSchema } from './job.js';

async function main(): Promise<void> {
  const job = verifyJobSchema.parse(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')));
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const candidate = await loadNet(job.candidate);
  const service = job.service ? await loadNet(job.service) : null;
  let report: SandboxReport;
  if (job.modelType === 'laundry') {
    report = {
      modelType: 'laundry',
      candidate: { validation: await laundryMetrics(candidate, job.candidate, job.validation), holdout: await laundryMetrics(candidate, job.candidate, job.holdout) },
      service:
        service && job.service
          ? { validation: await laundryMetrics(service, job.service, job.validation), holdout: await laundryMetrics(service, job.service, job.holdout) }
          : null,
      perf: await perf(job, (file) => laundryOnce(candidate, job, file), () => peakRss),
      drift: null,
    };
  } else {
    const cv = await faceMetrics(candidate, job.candidate, job.gallery, job.validation);
    const ch = await faceMetrics(candidate, job.candidate, job.gallery, job.holdout);
    const sv = service && job.service ? await faceMetrics(service, job.service, job.gallery, job.validation) : null;
    const sh = service && job.service ? await faceMetrics(service, job.service, job.gallery, job.holdout) : null;
    report = {
      modelType: 'face',
      candidate: { validation: strip(cv), holdout: strip(ch) },
      service: sv && sh ? { validation: strip(sv), holdout: strip(sh) } : null,
      perf: await perf(job, (file) => embed(candidate, job.candidate, file).then(() => undefined), () => peakRss),
      drift: await driftOf(candidate, job.candidate, ch.embeddings, job.samples),
    };
  }
  clearInterval(sampler);
  report.perf.peakRssMb = Math.max(report.perf.peakRssMb, process.memoryUsage().rss / 1e6);
  await writeFileAtomic(job.out, JSON.stringify(report));
}

function strip<T extends { embeddings: unknown }>(m: T): Omit<T, 'embeddings'> {
  const { embeddings: _e, ...rest } = m;
  return rest;
}

async function laundryOnce(model: OnnxModel, job: VerifyJob, file: string): Promise<void> {
  await classifyLaundry(model, job.candidate.labels, await readFile(file), job.candidate.preprocess);
}

/** Latency one request at a time, then throughput with `concurrency` requests in flight. */
async function perf(job: VerifyJob, once: (file: string) => Promise<void>, peak: () => number): Promise<PerfMetrics> {
  const files = [...job.validation, ...job.holdout].map((i) => i.file);
  if (files.length === 0) return { avgLatencyMs: 0, p95LatencyMs: 0, throughputRps: 0, peakRssMb: peak() / 1e6, failedRequests: 0 };
  const n = job.perf.requests;
  const lat: number[] = [];
  let failed = 0;
  const attempt = (file: string) => once(file).catch(() => void failed++);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    const t0 = performance.now();
    await attempt(files[i % files.length] as string);
    lat.push(performance.now() - t0);
  }
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < n) await attempt(files[next++ % files.length] as string);
  };
  await Promise.all(Array.from({ length: job.perf.concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return {
    avgLatencyMs: lat.reduce((a, b) => a + b, 0) / lat.length,
    p95LatencyMs: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.95))] as number,
    throughputRps: n / seconds,
    peakRssMb: peak() / 1e6,
    failedRequests: failed,
  };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(3);
  },
);
