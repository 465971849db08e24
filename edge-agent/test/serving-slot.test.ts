import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import {
  createLogger,
  EdgeloopError,
  IntegrityError,
  type LifecycleState,
  type Manifest,
  type ManifestFile,
  manifestSchema,
  sha256Hex,
  UnavailableError,
} from '@edgeloop/shared';
import { ContentStore } from '../src/model/content-store.js';
import { IllegalTransitionError, Lifecycle } from '../src/model/lifecycle.js';
import { type LoadedModel, loadModel } from '../src/model/loaded-model.js';
import { ServingSlot } from '../src/model/serving-slot.js';

const log = createLogger({ name: 'test', level: 'silent' });

// Real (untrained) networks come from the hub's bootstrap model builder.
import { buildBootstrapModel } from '../../hub/src/training/bootstrap-models.js';

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

async function newStore(): Promise<ContentStore> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-'));
  tmpDirs.push(dir);
  const store = new ContentStore(dir);
  await store.init();
  return store;
}

async function putBytes(store: ContentStore, bytes: Uint8Array): Promise<string> {
  const sha = sha256Hex(bytes);
  if (store.has({ sha256: sha })) return sha;
  writeFileSync(store.partialPathOf(sha), bytes);
  await store.commit(sha);
  return sha;
}

/** Installs a real (untrained) laundry network in the store and returns its manifest. */
async function installModel(
  store: ContentStore,
  version: number,
  opts: { bytes?: Uint8Array; seed?: number; files?: (network: ManifestFile) => ManifestFile[]; inputName?: string } = {},
): Promise<Manifest> {
  const boot = buildBootstrapModel('laundry', opts.seed ?? version);
  const bytes = opts.bytes ?? boot.onnx;
  const sha256 = await putBytes(store, bytes);
  const network: ManifestFile = { name: 'network.onnx', role: 'network', sha256, size: bytes.length };
  return manifestSchema.parse({
    schema: 'edgeloop.manifest/v1',
    modelType: 'laundry',
    version,
    label: `laundry v${version}`,
    files: opts.files ? opts.files(network) : [network],
    preprocess: { ...boot.preprocess, ...(opts.inputName ? { inputName: opts.inputName } : {}) },
    labels: boot.labels,
    createdAt: new Date(Date.now() - 60_000).toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    keyId: '0123456789abcdef',
    metrics: {},
    parentVersion: version > 1 ? version - 1 : null,
    evidenceSha256: null,
  });
}

function states(lc: Lifecycle): LifecycleState[] {
  return lc.history.map((e) => e.state);
}

function zeros(m: Manifest): Float32Array {
  const { channels, height, width } = m.preprocess;
  return new Float32Array(channels * height * width);
}

/** Runs one real inference and checks it looks like a 2-class softmax. */
async function infer(model: LoadedModel): Promise<Float32Array> {
  const out = await model.network.runTensor(zeros(model.manifest));
  assert.equal(out.length, 2);
  assert.ok(out.every(Number.isFinite));
  assert.ok(Math.abs((out[0] ?? 0) + (out[1] ?? 0) - 1) < 1e-4);
  return out;
}

/** Lets every pending callback run (several event-loop turns), without waiting on a clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const load = (manifest: Manifest, store: ContentStore, lifecycle?: Lifecycle): Promise<LoadedModel> =>
  loadModel({ manifest, store, log, intraOpThreads: 1, ...(lifecycle ? { lifecycle } : {}) });

describe('loadModel', { timeout: 120_000 }, () => {
  let store: ContentStore;
  beforeEach(async () => {
    store = await newStore();
  });

  test('goes idle → verifying → loading → warming → ready and can infer', async () => {
    const m = await installModel(store, 1);
    const model = await load(m, store);
    assert.deepEqual(states(model.lifecycle), ['idle', 'verifying', 'loading', 'warming', 'ready']);
    assert.equal(model.lifecycle.state, 'ready');
    assert.equal(model.version, 1);
    assert.equal(model.manifest, m);
    assert.equal(model.inFlight, 0);
    await infer(model);
    await model.unload('test done');
    assert.equal(model.lifecycle.state, 'unloaded');
  });

  test('continues a lifecycle that is downloading and reports every change', async () => {
    const m = await installModel(store, 2);
    const changes: [LifecycleState, LifecycleState][] = [];
    const lc = new Lifecycle('v2 offered', Date.now, (e, from) => changes.push([from, e.state]));
    lc.transition('downloading', 'fetching network.onnx');
    const model = await load(m, store, lc);
    assert.equal(model.lifecycle, lc);
    assert.deepEqual(states(lc), ['idle', 'downloading', 'verifying', 'loading', 'warming', 'ready']);
    assert.deepEqual(changes, [
      ['idle', 'downloading'],
      ['downloading', 'verifying'],
      ['verifying', 'loading'],
      ['loading', 'warming'],
      ['warming', 'ready'],
    ]);
    await model.unload('test done');
  });

  test('bytes that are not an ONNX model → throws, lifecycle failed', async () => {
    const m = await installModel(store, 3, { bytes: Buffer.from('definitely not a protobuf ONNX model\n'.repeat(20)) });
    const lc = new Lifecycle('v3 offered');
    await assert.rejects(load(m, store, lc), (err: unknown) => {
      assert.ok(err instanceof EdgeloopError);
      assert.equal(err.code, 'model-load');
      return true;
    });
    assert.equal(lc.state, 'failed');
    assert.deepEqual(states(lc), ['idle', 'verifying', 'loading', 'failed']);
    assert.match(lc.reason, /onnxruntime/);
  });

  test('a network whose input name differs from the manifest → throws, lifecycle failed', async () => {
    const m = await installModel(store, 4, { inputName: 'pixels' });
    const lc = new Lifecycle('v4 offered');
    await assert.rejects(load(m, store, lc), (err: unknown) => err instanceof EdgeloopError && err.code === 'model-load');
    assert.deepEqual(states(lc), ['idle', 'verifying', 'loading', 'failed']);
    assert.match(lc.reason, /pixels/);
  });

  test('a file tampered with in the store → IntegrityError at verifying, blob removed', async () => {
    const m = await installModel(store, 5);
    const net = m.files[0];
    assert.ok(net);
    const bytes = readFileSync(store.pathOf(net.sha256));
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0x5a;
    writeFileSync(store.pathOf(net.sha256), bytes);
    const lc = new Lifecycle('v5 offered');
    await assert.rejects(load(m, store, lc), IntegrityError);
    assert.deepEqual(states(lc), ['idle', 'verifying', 'failed']);
    assert.match(lc.reason, /does not match/);
    assert.equal(existsSync(store.pathOf(net.sha256)), false);
  });

  test('a file missing from the store → IntegrityError at verifying', async () => {
    const m = await installModel(store, 6, {
      files: (net) => [net, { name: 'labels.json', role: 'labels', sha256: sha256Hex('never installed'), size: 15 }],
    });
    const lc = new Lifecycle('v6 offered');
    await assert.rejects(load(m, store, lc), (err: unknown) => err instanceof IntegrityError && /not installed/.test(err.message));
    assert.deepEqual(states(lc), ['idle', 'verifying', 'failed']);
  });

  test('a manifest without a network file → throws, lifecycle failed', async () => {
    const m = await installModel(store, 7, { files: (net) => [{ ...net, name: 'labels.bin', role: 'labels' }] });
    const lc = new Lifecycle('v7 offered');
    await assert.rejects(load(m, store, lc), (err: unknown) => err instanceof EdgeloopError && err.code === 'model-load');
    assert.equal(lc.state, 'failed');
    assert.match(lc.reason, /no network file/);
  });
});

describe('ServingSlot', { timeout: 120_000 }, () => {
  let store: ContentStore;
  beforeEach(async () => {
    store = await newStore();
  });

  async function loaded(version: number): Promise<LoadedModel> {
    return load(await installModel(store, version), store);
  }

  test('acquire with no model waits for the gap, then → UnavailableError', async () => {
    const slot = new ServingSlot(log, 20);
    assert.equal(slot.active, null);
    assert.equal(slot.spare, null);
    await assert.rejects(slot.acquire(), UnavailableError);
  });

  test('a request arriving while no model is loaded waits and is served by the next activation', async () => {
    const slot = new ServingSlot(log, 60_000);
    const pending = slot.acquire();
    const v1 = await loaded(1);
    await slot.activate(v1, 'first');
    const lease = await pending;
    assert.equal(lease.model, v1);
    lease.release();
  });

  test('unloadActive opens a gap that queued requests ride out', async () => {
    const slot = new ServingSlot(log, 60_000);
    const v1 = await loaded(1);
    await slot.activate(v1, 'first');
    await slot.unloadActive('memory too tight for two');
    assert.equal(v1.lifecycle.state, 'unloaded');
    const pending = slot.acquire();
    const v2 = await loaded(2);
    await slot.activate(v2, 'after gap');
    assert.equal((await pending).model, v2);
  });

  test('activate with keepPrevious: false unloads the replaced model once drained', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'first');
    await slot.activate(v2, 'rollback target', { keepPrevious: false });
    assert.equal(v1.lifecycle.state, 'unloaded');
    assert.equal(slot.spare, null);
  });

  test('the first activation serves the model with no spare', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const res = await slot.activate(v1, 'boot');
    assert.ok(Number.isFinite(res.switchMicros) && res.switchMicros >= 0);
    assert.equal(slot.active, v1);
    assert.equal(slot.spare, null);
    assert.equal(v1.lifecycle.state, 'active');
    assert.equal(v1.lifecycle.reason, 'boot');
    const lease = await slot.acquire();
    assert.equal(lease.model, v1);
    assert.equal(v1.inFlight, 1);
    await infer(lease.model);
    lease.release();
    assert.equal(v1.inFlight, 0);
    await slot.close();
  });

  test('activate v1 then v2: acquire gets v2 and v1 becomes the warm spare', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    const lease = await slot.acquire();
    assert.equal(lease.model, v2);
    lease.release();
    assert.equal(slot.active, v2);
    assert.equal(slot.spare, v1);
    assert.equal(v2.lifecycle.state, 'active');
    assert.equal(v1.lifecycle.state, 'ready');
    assert.deepEqual(states(v1.lifecycle).slice(-3), ['active', 'draining', 'ready']);
    assert.match(v1.lifecycle.history.at(-2)?.reason ?? '', /v2/);
    await slot.close();
  });

  test('a lease on v1 taken before the switch keeps v1 draining until it is released', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'deployed');
    const lease = await slot.acquire();
    assert.equal(lease.model, v1);

    let switched = false;
    const switching = slot.activate(v2, 'deployed').then((r) => {
      switched = true;
      return r;
    });
    // The switch itself is immediate: new requests go to v2 at once.
    assert.equal(slot.active, v2);
    assert.equal(v2.lifecycle.state, 'active');
    assert.equal(v1.lifecycle.state, 'draining');
    const other = await slot.acquire();
    assert.equal(other.model, v2);
    other.release();

    // The old request still runs on v1, and v1 does not leave draining while it does.
    await infer(lease.model);
    await settle();
    assert.equal(v1.lifecycle.state, 'draining');
    assert.equal(v1.inFlight, 1);
    assert.equal(slot.spare, null);
    assert.equal(switched, false, 'activate waits for the old model to drain');

    lease.release();
    await switching;
    assert.equal(switched, true);
    assert.equal(v1.inFlight, 0);
    assert.equal(v1.lifecycle.state, 'ready');
    assert.equal(slot.spare, v1);
    assert.equal(slot.active, v2);
    await slot.close();
  });

  test('releasing a lease twice counts once', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'deployed');
    const a = await slot.acquire();
    const b = await slot.acquire();
    assert.equal(v1.inFlight, 2);
    a.release();
    a.release();
    assert.equal(v1.inFlight, 1);
    let switched = false;
    const switching = slot.activate(v2, 'deployed').then(() => {
      switched = true;
    });
    await settle();
    assert.equal(switched, false, 'the second lease still holds v1');
    assert.equal(v1.lifecycle.state, 'draining');
    b.release();
    await switching;
    assert.equal(v1.lifecycle.state, 'ready');
    assert.equal(v1.inFlight, 0);
    await slot.close();
  });

  test('activating v3 unloads the old spare v1 and keeps v2 as spare', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    const v3 = await loaded(3);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    await slot.activate(v3, 'deployed');
    assert.equal(slot.active, v3);
    assert.equal(slot.spare, v2);
    assert.equal(v3.lifecycle.state, 'active');
    assert.equal(v2.lifecycle.state, 'ready');
    assert.equal(v1.lifecycle.state, 'unloaded');
    assert.match(v1.lifecycle.reason, /spare replaced/);
    const lease = await slot.acquire();
    assert.equal(lease.model, v3);
    await infer(lease.model);
    lease.release();
    // The spare is still a working session.
    await infer(v2);
    await slot.close();
  });

  test('activating the spare again (rollback) works without unloading it', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    const v3 = await loaded(3);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    await slot.activate(v3, 'deployed');
    assert.equal(slot.spare, v2);

    await slot.activate(v2, 'signed rollback');
    assert.equal(slot.active, v2);
    assert.equal(slot.spare, v3);
    assert.equal(v2.lifecycle.state, 'active');
    assert.equal(v2.lifecycle.reason, 'signed rollback');
    assert.equal(v3.lifecycle.state, 'ready');
    assert.ok(!states(v2.lifecycle).includes('unloaded'), 'the rolled-back-to model was never unloaded');
    assert.ok(!states(v3.lifecycle).includes('unloaded'));
    const lease = await slot.acquire();
    assert.equal(lease.model, v2);
    await infer(lease.model);
    lease.release();
    await infer(v3);

    // And forward again to the spare: still nothing unloaded.
    await slot.activate(v3, 'deployed');
    assert.equal(slot.active, v3);
    assert.equal(slot.spare, v2);
    await infer(v2);
    await slot.close();
  });

  test('rolling back to the spare swaps active and spare', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    assert.equal(slot.spare, v1);
    await slot.activate(v1, 'signed rollback');
    assert.equal(slot.active, v1);
    assert.equal(slot.spare, v2);
    await slot.close();
  });

  test('a failed load leaves the slot serving the old model', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    await slot.activate(v1, 'deployed');
    const bad = await installModel(store, 2, { bytes: Buffer.from('garbage that onnxruntime cannot parse') });
    const lc = new Lifecycle('v2 offered');
    await assert.rejects(load(bad, store, lc));
    assert.equal(lc.state, 'failed');
    assert.equal(slot.active, v1);
    assert.equal(v1.lifecycle.state, 'active');
    const lease = await slot.acquire();
    assert.equal(lease.model, v1);
    await infer(lease.model);
    lease.release();
    await slot.close();
  });

  test('a tampered model fails at verifying and the slot keeps serving', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    await slot.activate(v1, 'deployed');
    const m2 = await installModel(store, 2);
    const net = m2.files[0];
    assert.ok(net);
    writeFileSync(store.pathOf(net.sha256), Buffer.alloc(net.size, 7));
    const lc = new Lifecycle('v2 offered');
    await assert.rejects(load(m2, store, lc), IntegrityError);
    assert.deepEqual(states(lc), ['idle', 'verifying', 'failed']);
    const lease = await slot.acquire();
    assert.equal(lease.model, v1);
    lease.release();
    await slot.close();
  });

  test('activating a model that is not ready is refused and the slot keeps serving the current model', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    const v3 = await loaded(3);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    await slot.activate(v3, 'deployed');
    assert.equal(v1.lifecycle.state, 'unloaded');
    await assert.rejects(slot.activate(v1, 'stale candidate'), IllegalTransitionError);
    assert.equal(slot.active?.version, 3, 'the slot must not switch to an unloaded (released) model');
    assert.ok(slot.active === v3);
    assert.equal(v3.lifecycle.state, 'active');
    const lease = await slot.acquire();
    assert.equal(lease.model, v3);
    await infer(lease.model);
    lease.release();
    await slot.close();
  });

  test('close unloads the active model and the spare; acquire is unavailable afterwards', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    const v2 = await loaded(2);
    await slot.activate(v1, 'deployed');
    await slot.activate(v2, 'deployed');
    await slot.close();
    assert.equal(slot.active, null);
    assert.equal(slot.spare, null);
    assert.equal(v1.lifecycle.state, 'unloaded');
    assert.equal(v2.lifecycle.state, 'unloaded');
    assert.deepEqual(states(v2.lifecycle).slice(-2), ['draining', 'unloaded']);
    await assert.rejects(slot.acquire(), UnavailableError);
  });

  test('close waits for requests still running on the active model', async () => {
    const slot = new ServingSlot(log);
    const v1 = await loaded(1);
    await slot.activate(v1, 'deployed');
    const lease = await slot.acquire();
    let closed = false;
    const closing = slot.close().then(() => {
      closed = true;
    });
    await settle();
    assert.equal(closed, false);
    assert.equal(v1.lifecycle.state, 'draining');
    await infer(lease.model);
    lease.release();
    await closing;
    assert.equal(v1.lifecycle.state, 'unloaded');
  });
});
