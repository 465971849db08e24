import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { memoryLogger } from '@edgeloop/shared/testing';
import { buildBootstrapModel } from '../../src/training/bootstrap-models.js';
import { buildFaultModel, type FaultKind } from '../../src/training/fault-models.js';
import type { ClassMetrics, VerifyJob } from '../../src/training/sandbox/job.js';
import { runSandbox } from '../../src/training/sandbox/sandbox.js';
import { DEFAULT_THRESHOLDS, judge } from '../../src/training/sandbox/verdict.js';
import { encodeImage } from '../../src/training/synthetic/encode.js';
import { laundryDataset } from '../../src/training/synthetic/laundry.js';

let dir: string;
let photos: { file: string; label: string }[];
const log = memoryLogger().log;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-'));
  photos = [];
  for (const [i, s] of laundryDataset({ count: 8, defectRatio: 0.5, seed: 3, width: 96, height: 96 }).entries()) {
    const file = join(dir, `p${i}.png`);
    writeFileSync(file, await encodeImage(s.pixels, s.width, s.height, 'png'));
    photos.push({ file, label: s.label });
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function job(name: string, model: { onnx: Uint8Array; preprocess: VerifyJob['candidate']['preprocess']; labels: string[] }, withService = false): VerifyJob {
  const network = join(dir, `${name}.onnx`);
  writeFileSync(network, model.onnx);
  const service = buildBootstrapModel('laundry', 99);
  const servicePath = join(dir, 'service.onnx');
  writeFileSync(servicePath, service.onnx);
  return {
    modelType: 'laundry',
    candidate: { network, preprocess: model.preprocess, labels: model.labels },
    service: withService ? { network: servicePath, preprocess: service.preprocess, labels: service.labels } : null,
    validation: photos.slice(0, 6),
    holdout: photos.slice(6),
    gallery: [],
    samples: [],
    perf: { requests: 20, concurrency: 2 },
    out: join(dir, `${name}.report.json`),
  };
}
const limits = { memoryBytes: 1.5e9, timeoutMs: 60_000 };

describe('sandbox verifier', () => {
  test('measures a servable candidate and the model in service on the same photos', async () => {
    const out = await runSandbox(job('plain', buildBootstrapModel('laundry', 5), true), join(dir, 'plain.job.json'), limits, log);
    assert.ok(out.ok, JSON.stringify(out));
    const v = out.report.candidate.validation as ClassMetrics;
    assert.equal(v.n, 6);
    assert.equal(v.errors, 0);
    const counted = Object.values(v.confusion).flatMap((row) => Object.values(row)).reduce((a, b) => a + b, 0);
    assert.equal(counted, 6, 'every photo lands in the confusion matrix');
    assert.ok(out.report.service, 'service measured');
    assert.ok(out.report.perf.avgLatencyMs > 0 && out.report.perf.throughputRps > 0 && out.report.perf.peakRssMb > 0);
    // An untrained network cannot reach 0.90 on both classes: rejected, with the reasons listed.
    const verdict = judge(out, DEFAULT_THRESHOLDS);
    assert.equal(verdict.verdict, 'reject');
    assert.ok(verdict.reasons.length > 0);
  });

  const faulty: { kind: FaultKind; failure?: string; reason: RegExp; limits?: typeof limits }[] = [
    { kind: 'throws', reason: /photos failed to classify/ },
    { kind: 'hang', failure: 'timeout', reason: /sandbox timeout/, limits: { memoryBytes: 1.5e9, timeoutMs: 8_000 } },
    { kind: 'hog', failure: 'memory', reason: /sandbox memory/, limits: { memoryBytes: 600e6, timeoutMs: 120_000 } },
  ];
  for (const c of faulty) {
    test(`a candidate that ${c.kind === 'throws' ? 'fails on every photo' : c.kind === 'hang' ? 'hangs' : 'eats memory'} is rejected; this process is unharmed`, async () => {
      const before = process.memoryUsage().rss;
      const out = await runSandbox(job(c.kind, buildFaultModel(c.kind)), join(dir, `${c.kind}.job.json`), c.limits ?? limits, log);
      if (c.failure) {
        assert.equal(out.ok, false);
        assert.equal(!out.ok && out.failure, c.failure);
      }
      const verdict = judge(out, DEFAULT_THRESHOLDS);
      assert.equal(verdict.verdict, 'reject');
      assert.match(verdict.reasons.join('; '), c.reason);
      assert.ok(process.memoryUsage().rss - before < 200e6, 'the hub process did not take the load');
    });
  }

  test('a verifier that dies is a crash, not a hang', async () => {
    const j = job('missing', buildBootstrapModel('laundry', 5));
    j.candidate.network = join(dir, 'no-such-file.onnx');
    const out = await runSandbox(j, join(dir, 'missing.job.json'), limits, log);
    assert.equal(out.ok, false);
    assert.equal(!out.ok && out.failure, 'crashed');
    assert.match(!out.ok ? out.detail : '', /code 3: sandbox: .*no-such-file/);
  });
});
