import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  TfBackendUnavailableError,
  detectVisibleGpu,
  initTfRuntime,
} from '../../src/training/tfjs/backend.js';
import { findMissingKernels } from '../../src/training/tfjs/conv2d-backprop-filter.js';

// Every test activates the backend it needs, so they do not depend on order.

function resolvable(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
// On this machine: no GPU, tfjs-node not installed, tfjs-node-gpu's JS present but its native addon missing.
const nativeMayLoad = resolvable('@tensorflow/tfjs-node') || detectVisibleGpu().visible;

test('initTfRuntime() picks the fastest available backend and records why faster ones were passed over', async () => {
  const rt = await initTfRuntime();
  if (nativeMayLoad) {
    // A GPU hub or one with tfjs-node: a native backend if it loads, otherwise wasm with the reason recorded.
    assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm'].includes(rt.backend), rt.detail);
    assert.match(rt.detail, new RegExp(`selected '${rt.backend}'`));
    return;
  }
  assert.equal(rt.backend, 'wasm');
  assert.equal(rt.tf.getBackend(), 'wasm');
  assert.match(rt.detail, /selected 'wasm'/);
  assert.match(rt.detail, /tensorflow-gpu: no NVIDIA GPU visible/);
  assert.match(rt.detail, /tensorflow: cannot import @tensorflow\/tfjs-node/);
  // The gradient kernel the wasm backend lacks is registered; nothing training needs is missing.
  assert.ok(rt.tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  assert.deepEqual(findMissingKernels(rt.tf, 'wasm'), []);
  console.log(`auto: ${rt.detail}`);
});

test('initTfRuntime is idempotent and re-activates the backend after a switch', async () => {
  const a = await initTfRuntime();
  const cpu = await initTfRuntime({ prefer: 'cpu' });
  assert.equal(cpu.backend, 'cpu');
  assert.equal(cpu.tf.getBackend(), 'cpu');
  assert.match(cpu.detail, /forced by prefer='cpu'/);
  const b = await initTfRuntime();
  assert.equal(b, a, 'same backend → same runtime object');
  assert.equal(b.tf.getBackend(), tfBackendOf(a.backend));
  assert.equal(await initTfRuntime({ prefer: 'cpu' }), cpu);
  // Concurrent first calls share one initialisation.
  const [c, d] = await Promise.all([initTfRuntime({ prefer: 'wasm' }), initTfRuntime({ prefer: 'wasm' })]);
  assert.equal(c, d);
  assert.equal(c.tf.getBackend(), 'wasm');
  // Ops run on the re-activated backend.
  assert.deepEqual(Array.from(c.tf.add(c.tf.tensor1d([1, 2]), 1).dataSync()), [2, 3]);
});

test("prefer: 'tensorflow-gpu' throws a clear error when it cannot be used", async () => {
  if (detectVisibleGpu().visible) {
    // With a GPU visible it is used when its native part is installed, else refused with the import error.
    const r = await initTfRuntime({ prefer: 'tensorflow-gpu' }).catch((e: unknown) => e);
    if (r instanceof TfBackendUnavailableError) assert.match(r.message, /tensorflow-gpu' is not available/);
    else assert.equal((r as { backend: string }).backend, 'tensorflow-gpu');
    return;
  }
  const before = (await initTfRuntime({ prefer: 'cpu' })).tf.getBackend();
  await assert.rejects(initTfRuntime({ prefer: 'tensorflow-gpu' }), (e: unknown) => {
    assert.ok(e instanceof TfBackendUnavailableError);
    assert.equal(e.backend, 'tensorflow-gpu');
    assert.match(e.message, /^tfjs backend 'tensorflow-gpu' is not available: no NVIDIA GPU visible/);
    return true;
  });
  // A failed request leaves the active backend alone.
  assert.equal((await initTfRuntime({ prefer: 'cpu' })).tf.getBackend(), before);
});

test("prefer: 'tensorflow' throws when @tensorflow/tfjs-node is not installed", async () => {
  if (resolvable('@tensorflow/tfjs-node')) {
    assert.equal((await initTfRuntime({ prefer: 'tensorflow' })).backend, 'tensorflow');
    return;
  }
  await assert.rejects(initTfRuntime({ prefer: 'tensorflow' }), /'tensorflow' is not available: cannot import @tensorflow\/tfjs-node/);
});

test('an unknown backend name is rejected', async () => {
  await assert.rejects(
    // @ts-expect-error: deliberately invalid
    initTfRuntime({ prefer: 'webgl' }),
    /unknown tfjs backend 'webgl'/,
  );
});

function tfBackendOf(b: string): string {
  return b === 'tensorflow-gpu' ? 'tensorflow' : b;
}
