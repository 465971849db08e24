import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  createLogger,
  generateSigningKeyPair,
  type Manifest,
  manifestSchema,
  type SignedManifest,
  type SigningKey,
  sha256Hex,
  signEnvelope,
} from '@edgeloop/shared';
import { type InstalledState, InstalledStateFile } from '../src/model/installed-state.js';

const log = createLogger({ name: 'test', level: 'silent' });

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgeloop-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const pair = generateSigningKeyPair();
const key: SigningKey = { keyId: pair.keyId, privateKey: createPrivateKey(pair.privateKeyPem), publicKeyPem: pair.publicKeyPem };

function signed(modelType: 'laundry' | 'face', version: number): SignedManifest {
  const manifest: Manifest = manifestSchema.parse({
    schema: 'edgeloop.manifest/v1',
    modelType,
    version,
    label: `${modelType} v${version}`,
    files: [{ name: 'network.onnx', role: 'network', sha256: sha256Hex(`${modelType}-${version}`), size: 1234 }],
    preprocess: { width: 64, height: 64, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], inputName: 'input', outputName: 'output' },
    labels: modelType === 'laundry' ? ['good', 'defect'] : [],
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2031-01-01T00:00:00.000Z',
    keyId: key.keyId,
    metrics: { accuracy: 0.9 },
    parentVersion: version > 1 ? version - 1 : null,
    evidenceSha256: null,
  });
  return signEnvelope(manifest, key);
}

const EMPTY = { desiredRevision: 0, models: {} };
const EMPTY_SLOT = { active: null, lastKnownGood: null, refusedVersions: [] };

function fileJson(dir: string): unknown {
  return JSON.parse(readFileSync(join(dir, 'installed.json'), 'utf8'));
}

describe('InstalledStateFile', () => {
  test('a fresh directory starts empty and writes nothing until updated', () => {
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    assert.deepEqual(s.get(), EMPTY);
    assert.deepEqual(s.slot('laundry'), EMPTY_SLOT);
    assert.deepEqual(s.slot('face'), EMPTY_SLOT);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('state persists across instances on the same directory', async () => {
    const dir = tempDir();
    const a = new InstalledStateFile(dir, log);
    const v3 = signed('laundry', 3);
    const v2 = signed('laundry', 2);
    await a.update((s) => ({ ...s, desiredRevision: 17 }));
    await a.updateSlot('laundry', () => ({ active: v3, lastKnownGood: v2, refusedVersions: [4] }));

    const b = new InstalledStateFile(dir, log);
    assert.deepEqual(b.get(), a.get());
    assert.equal(b.get().desiredRevision, 17);
    assert.deepEqual(b.slot('laundry'), { active: v3, lastKnownGood: v2, refusedVersions: [4] });
    assert.deepEqual(b.slot('face'), EMPTY_SLOT);
    assert.deepEqual(fileJson(dir), a.get());
  });

  test('updateSlot changes one model type and keeps the others and the revision', async () => {
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    const face1 = signed('face', 1);
    await s.update((st) => ({ ...st, desiredRevision: 5 }));
    await s.updateSlot('face', () => ({ active: face1, lastKnownGood: null, refusedVersions: [] }));
    await s.updateSlot('laundry', (slot) => {
      assert.deepEqual(slot, EMPTY_SLOT, 'a slot never written starts empty');
      return { ...slot, active: signed('laundry', 1) };
    });
    await s.updateSlot('laundry', (slot) => ({ active: signed('laundry', 2), lastKnownGood: slot.active, refusedVersions: slot.refusedVersions }));
    assert.equal(s.get().desiredRevision, 5);
    assert.deepEqual(s.slot('face').active, face1);
    assert.equal(s.slot('laundry').active?.signed.version, 2);
    assert.equal(s.slot('laundry').lastKnownGood?.signed.version, 1);
    assert.deepEqual(new InstalledStateFile(dir, log).get(), s.get());
  });

  test('update is atomic: only installed.json is left, never a temp file', async () => {
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    for (let v = 1; v <= 5; v++) {
      await s.updateSlot('laundry', (slot) => ({ active: signed('laundry', v), lastKnownGood: slot.active, refusedVersions: [] }));
      assert.deepEqual(readdirSync(dir), ['installed.json']);
      assert.deepEqual(fileJson(dir), s.get());
    }
    assert.equal(new InstalledStateFile(dir, log).slot('laundry').active?.signed.version, 5);
  });

  test('concurrent updates are all applied, none is lost (desired revision + slot switch)', async () => {
    // app.ts records a new desiredRevision while the update runner may be inside updateSlot():
    // both writes must survive, in memory and on disk.
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    const v1 = signed('laundry', 1);
    const v2 = signed('laundry', 2);
    await s.updateSlot('laundry', () => ({ active: v1, lastKnownGood: null, refusedVersions: [] }));
    await Promise.all([
      s.updateSlot('laundry', (slot) => ({ active: v2, lastKnownGood: slot.active, refusedVersions: [] })),
      s.update((st) => ({ ...st, desiredRevision: 42 })),
    ]);
    const summary = (st: InstalledState) => ({
      desiredRevision: st.desiredRevision,
      active: st.models.laundry?.active?.signed.version ?? null,
      lastKnownGood: st.models.laundry?.lastKnownGood?.signed.version ?? null,
    });
    assert.deepEqual(summary(s.get()), { desiredRevision: 42, active: 2, lastKnownGood: 1 }, 'in memory');
    assert.deepEqual(summary(new InstalledStateFile(dir, log).get()), { desiredRevision: 42, active: 2, lastKnownGood: 1 }, 'on disk');
    const expected = { desiredRevision: 42, models: { laundry: { active: v2, lastKnownGood: v1, refusedVersions: [] } } };
    assert.deepEqual(s.get(), expected);
    assert.deepEqual(new InstalledStateFile(dir, log).get(), expected);
    assert.deepEqual(readdirSync(dir), ['installed.json']);
  });

  test('the data directory is created on the first update if missing', async () => {
    const dir = join(tempDir(), 'nested', 'agent');
    const s = new InstalledStateFile(dir, log);
    await s.update((st) => ({ ...st, desiredRevision: 1 }));
    assert.deepEqual(readdirSync(dir), ['installed.json']);
    assert.equal(new InstalledStateFile(dir, log).get().desiredRevision, 1);
  });

  test('a corrupt installed.json is tolerated: starts empty, no throw, and the next update replaces it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'installed.json'), '{"desiredRevision": 3, "models": {"laundry": {"act');
    let s: InstalledStateFile | undefined;
    assert.doesNotThrow(() => {
      s = new InstalledStateFile(dir, log);
    });
    assert.ok(s);
    assert.deepEqual(s.get(), EMPTY);
    assert.deepEqual(s.slot('laundry'), EMPTY_SLOT);
    await s.update((st) => ({ ...st, desiredRevision: 4 }));
    assert.deepEqual(fileJson(dir), { desiredRevision: 4, models: {} });
    assert.deepEqual(readdirSync(dir), ['installed.json']);
  });

  test('an empty installed.json is tolerated', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'installed.json'), '');
    assert.deepEqual(new InstalledStateFile(dir, log).get(), EMPTY);
  });

  test('valid JSON that does not match the schema is tolerated (starts empty)', () => {
    for (const bad of [
      { desiredRevision: -1, models: {} },
      { desiredRevision: 1, models: { toaster: EMPTY_SLOT } },
      { desiredRevision: 1, models: { laundry: { active: { signed: { version: 1 }, keyId: 'x', signature: 'y' }, lastKnownGood: null } } },
      [],
      null,
      'installed',
    ]) {
      const dir = tempDir();
      writeFileSync(join(dir, 'installed.json'), JSON.stringify(bad));
      assert.deepEqual(new InstalledStateFile(dir, log).get(), EMPTY, JSON.stringify(bad));
    }
  });

  test('missing optional fields get their defaults when read back', () => {
    const dir = tempDir();
    const v1 = signed('laundry', 1);
    writeFileSync(join(dir, 'installed.json'), JSON.stringify({ models: { laundry: { active: v1, lastKnownGood: null } } }));
    const s = new InstalledStateFile(dir, log);
    assert.equal(s.get().desiredRevision, 0);
    assert.deepEqual(s.slot('laundry'), { active: v1, lastKnownGood: null, refusedVersions: [] });
  });

  test('an update producing an invalid state throws and changes neither memory nor disk', async () => {
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    await s.update((st) => ({ ...st, desiredRevision: 9 }));
    const before = structuredClone(s.get());
    const diskBefore = readFileSync(join(dir, 'installed.json'), 'utf8');
    await assert.rejects(s.update((st) => ({ ...st, desiredRevision: -5 })));
    await assert.rejects(s.updateSlot('laundry', (slot) => ({ ...slot, refusedVersions: [0] })));
    assert.deepEqual(s.get(), before);
    assert.equal(readFileSync(join(dir, 'installed.json'), 'utf8'), diskBefore);
    assert.deepEqual(readdirSync(dir), ['installed.json']);
  });

  test('an update function that mutates its argument and then throws leaves the state untouched', async () => {
    const dir = tempDir();
    const s = new InstalledStateFile(dir, log);
    await s.updateSlot('laundry', () => ({ active: signed('laundry', 1), lastKnownGood: null, refusedVersions: [] }));
    const before = structuredClone(s.get());
    await assert.rejects(
      s.update((st) => {
        st.desiredRevision = 999;
        const slot = st.models.laundry;
        if (slot) slot.refusedVersions.push(7);
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual(s.get(), before);
    assert.equal(existsSync(join(dir, 'installed.json')), true);
    assert.deepEqual(fileJson(dir), before);
  });
});
