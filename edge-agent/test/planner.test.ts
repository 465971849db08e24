import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DesiredState, type Manifest, type ManifestFile, manifestSchema, sha256Hex } from '@edgeloop/shared';
import { checkDesiredState, type PlanInput, planModelUpdate, type Step } from '../src/updates/planner.js';

const NOW = new Date('2030-06-01T12:00:00.000Z');
const LATER = '2030-07-01T00:00:00.000Z';
const EARLIER = '2030-05-01T00:00:00.000Z';

function file(name: string, role: ManifestFile['role'] = 'network'): ManifestFile {
  return { name, role, sha256: sha256Hex(name), size: 100 + name.length };
}

function manifest(version: number, over: Partial<Manifest> = {}): Manifest {
  return manifestSchema.parse({
    schema: 'edgeloop.manifest/v1',
    modelType: 'laundry',
    version,
    label: `laundry v${version}`,
    files: [file(`network-v${version}.onnx`)],
    preprocess: { width: 64, height: 64, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputName: 'input', outputName: 'output' },
    labels: ['good', 'defect'],
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: LATER,
    keyId: '0123456789abcdef',
    metrics: {},
    parentVersion: version > 1 ? version - 1 : null,
    evidenceSha256: null,
    ...over,
  });
}

function input(over: Partial<PlanInput>): PlanInput {
  return {
    activeVersion: null,
    desired: null,
    installed: new Set(),
    candidateReady: false,
    refusedVersions: [],
    now: NOW,
    ...over,
  };
}

function kinds(steps: Step[]): string[] {
  return steps.map((s) => s.kind);
}

describe('planModelUpdate', () => {
  test('nothing desired → no steps', () => {
    assert.deepEqual(planModelUpdate(input({ desired: null, activeVersion: 3 })), []);
    assert.deepEqual(planModelUpdate(input({ desired: null, activeVersion: null })), []);
  });

  test('desired version already active → no steps (even with missing files or an expired manifest)', () => {
    const m = manifest(4, { expiresAt: EARLIER });
    assert.deepEqual(planModelUpdate(input({ activeVersion: 4, desired: { manifest: m, rollback: false } })), []);
    assert.deepEqual(planModelUpdate(input({ activeVersion: 4, desired: { manifest: m, rollback: true } })), []);
  });

  test('expired manifest → a single refuse step with code "expired"', () => {
    const steps = planModelUpdate(input({ activeVersion: 1, desired: { manifest: manifest(2, { expiresAt: EARLIER }), rollback: false } }));
    assert.equal(steps.length, 1);
    const [s] = steps;
    assert.equal(s?.kind, 'refuse');
    assert.ok(s?.kind === 'refuse');
    assert.equal(s.code, 'expired');
    assert.match(s.reason, /v2/);
    assert.match(s.reason, /expired/);
  });

  test('a manifest expiring exactly now is expired', () => {
    const steps = planModelUpdate(input({ activeVersion: 1, desired: { manifest: manifest(2, { expiresAt: NOW.toISOString() }), rollback: false } }));
    assert.deepEqual(
      steps.map((s) => (s.kind === 'refuse' ? s.code : s.kind)),
      ['expired'],
    );
  });

  test('expiry is refused even for a signed rollback', () => {
    const steps = planModelUpdate(input({ activeVersion: 5, desired: { manifest: manifest(2, { expiresAt: EARLIER }), rollback: true } }));
    assert.deepEqual(
      steps.map((s) => (s.kind === 'refuse' ? s.code : s.kind)),
      ['expired'],
    );
  });

  test('lower version without rollback → refuse "downgrade"', () => {
    const steps = planModelUpdate(input({ activeVersion: 5, desired: { manifest: manifest(3), rollback: false } }));
    assert.equal(steps.length, 1);
    const [s] = steps;
    assert.ok(s?.kind === 'refuse');
    assert.equal(s.code, 'downgrade');
    assert.match(s.reason, /v3/);
    assert.match(s.reason, /v5/);
  });

  test('lower version with a signed rollback → download, load, activate', () => {
    const m = manifest(3);
    const steps = planModelUpdate(input({ activeVersion: 5, desired: { manifest: m, rollback: true } }));
    assert.deepEqual(steps, [{ kind: 'download', file: m.files[0] }, { kind: 'load' }, { kind: 'activate' }]);
  });

  test('a refused version is refused with "refused-version"', () => {
    const steps = planModelUpdate(input({ activeVersion: 3, desired: { manifest: manifest(4), rollback: false }, refusedVersions: [2, 4] }));
    assert.equal(steps.length, 1);
    const [s] = steps;
    assert.ok(s?.kind === 'refuse');
    assert.equal(s.code, 'refused-version');
    assert.match(s.reason, /v4/);
  });

  test('a refused version on a fresh device is still refused', () => {
    const steps = planModelUpdate(input({ activeVersion: null, desired: { manifest: manifest(4), rollback: false }, refusedVersions: [4] }));
    assert.deepEqual(
      steps.map((s) => (s.kind === 'refuse' ? s.code : s.kind)),
      ['refused-version'],
    );
  });

  test('a refused version is allowed by a signed rollback', () => {
    const m = manifest(4);
    const steps = planModelUpdate(input({ activeVersion: 3, desired: { manifest: m, rollback: true }, refusedVersions: [4] }));
    assert.deepEqual(kinds(steps), ['download', 'load', 'activate']);
  });

  test('a version not in refusedVersions is planned normally', () => {
    const steps = planModelUpdate(input({ activeVersion: 3, desired: { manifest: manifest(5), rollback: false }, refusedVersions: [4] }));
    assert.deepEqual(kinds(steps), ['download', 'load', 'activate']);
  });

  test('only missing files are downloaded, one step each, in manifest order, then load and activate', () => {
    const files = [file('network.onnx', 'network'), file('labels.json', 'labels'), file('preprocess.json', 'preprocess'), file('gallery.bin', 'gallery')];
    const m = manifest(7, { files });
    const installed = new Set([files[1]?.sha256 ?? '', files[3]?.sha256 ?? '']);
    const steps = planModelUpdate(input({ activeVersion: 6, desired: { manifest: m, rollback: false }, installed }));
    assert.deepEqual(steps, [{ kind: 'download', file: files[0] }, { kind: 'download', file: files[2] }, { kind: 'load' }, { kind: 'activate' }]);
  });

  test('all files installed → load, activate', () => {
    const m = manifest(7, { files: [file('a.onnx'), file('b.json', 'labels')] });
    const installed = new Set(m.files.map((f) => f.sha256));
    const steps = planModelUpdate(input({ activeVersion: 6, desired: { manifest: m, rollback: false }, installed }));
    assert.deepEqual(steps, [{ kind: 'load' }, { kind: 'activate' }]);
  });

  test('candidateReady → no load step', () => {
    const m = manifest(7);
    const installed = new Set(m.files.map((f) => f.sha256));
    assert.deepEqual(planModelUpdate(input({ activeVersion: 6, desired: { manifest: m, rollback: false }, installed, candidateReady: true })), [
      { kind: 'activate' },
    ]);
  });

  test('candidateReady with a missing file still downloads it, but does not load', () => {
    const m = manifest(7);
    const steps = planModelUpdate(input({ activeVersion: 6, desired: { manifest: m, rollback: false }, candidateReady: true }));
    assert.deepEqual(steps, [{ kind: 'download', file: m.files[0] }, { kind: 'activate' }]);
  });

  test('fresh device (activeVersion null) → the full plan', () => {
    const files = [file('network.onnx'), file('labels.json', 'labels')];
    const m = manifest(1, { files });
    const steps = planModelUpdate(input({ activeVersion: null, desired: { manifest: m, rollback: false } }));
    assert.deepEqual(steps, [{ kind: 'download', file: files[0] }, { kind: 'download', file: files[1] }, { kind: 'load' }, { kind: 'activate' }]);
  });

  test('a fresh device accepts any version, including a low one without rollback', () => {
    const steps = planModelUpdate(input({ activeVersion: null, desired: { manifest: manifest(1), rollback: false } }));
    assert.deepEqual(kinds(steps), ['download', 'load', 'activate']);
  });

  test('is pure: the same input gives the same plan and the input is not changed', () => {
    const m = manifest(2);
    const snapshot = structuredClone(m);
    const inp = input({ activeVersion: 1, desired: { manifest: m, rollback: false }, refusedVersions: [9] });
    assert.deepEqual(planModelUpdate(inp), planModelUpdate(inp));
    assert.deepEqual(m, snapshot);
    assert.deepEqual(inp.refusedVersions, [9]);
  });
});

describe('checkDesiredState', () => {
  function desired(over: Partial<DesiredState> = {}): DesiredState {
    return {
      deviceId: 'laundry-01',
      revision: 10,
      issuedAt: '2030-06-01T00:00:00.000Z',
      expiresAt: LATER,
      models: {},
      ...over,
    };
  }
  const ctx = { deviceId: 'laundry-01', lastRevision: 10, now: NOW };

  test('a desired state for another device → wrong-device', () => {
    const r = checkDesiredState(desired({ deviceId: 'laundry-02' }), ctx);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.code, 'wrong-device');
    assert.match(r.reason, /laundry-02/);
  });

  test('wrong device is reported before expiry and staleness', () => {
    const r = checkDesiredState(desired({ deviceId: 'other', expiresAt: EARLIER, revision: 1 }), ctx);
    assert.ok(!r.ok);
    assert.equal(r.code, 'wrong-device');
  });

  test('an expired desired state → expired', () => {
    const r = checkDesiredState(desired({ expiresAt: EARLIER }), ctx);
    assert.ok(!r.ok);
    assert.equal(r.code, 'expired');
  });

  test('a desired state expiring exactly now → expired', () => {
    const r = checkDesiredState(desired({ expiresAt: NOW.toISOString() }), ctx);
    assert.ok(!r.ok);
    assert.equal(r.code, 'expired');
  });

  test('expiry is reported before staleness', () => {
    const r = checkDesiredState(desired({ expiresAt: EARLIER, revision: 3 }), ctx);
    assert.ok(!r.ok);
    assert.equal(r.code, 'expired');
  });

  test('an older revision → stale-revision', () => {
    const r = checkDesiredState(desired({ revision: 9 }), ctx);
    assert.ok(!r.ok);
    assert.equal(r.code, 'stale-revision');
    assert.match(r.reason, /9/);
    assert.match(r.reason, /10/);
  });

  test('the same revision is ok (re-delivery of the retained message)', () => {
    assert.deepEqual(checkDesiredState(desired({ revision: 10 }), ctx), { ok: true });
  });

  test('a newer revision is ok', () => {
    assert.deepEqual(checkDesiredState(desired({ revision: 11 }), ctx), { ok: true });
  });

  test('revision 0 on a device that has seen nothing is ok', () => {
    assert.deepEqual(checkDesiredState(desired({ revision: 0 }), { ...ctx, lastRevision: 0 }), { ok: true });
  });
});
