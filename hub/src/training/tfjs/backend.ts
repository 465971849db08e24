/**
 * Picks the fastest tfjs backend available in this process at run time and records why.
 *
 * Order: @tensorflow/tfjs-node-gpu (only when importable AND a GPU is visible) → @tensorflow/tfjs-node
 * → wasm (XNNPACK; ~80x faster than 'cpu' for conv training here) → cpu. The native packages are
 * optional and imported dynamically; the wasm backend gets the gradient kernels it lacks registered
 * (and a faster Conv2DBackpropInput).
 *
 * tfjs is a process-wide singleton: backends, once initialised, stay registered and `tf.setBackend`
 * switches between them. Calling initTfRuntime again is cheap; it re-activates the requested backend
 * and returns the same runtime object for the same backend.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Logger } from '@edgeloop/shared';
import * as tf from '@tensorflow/tfjs';
import { findMissingKernels, registerConv2DBackpropFilterForWasm } from './conv2d-backprop-filter.js';
import { registerConv2DBackpropInputForWasm } from './conv2d-backprop-input.js';

export type TfBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface TfRuntime {
  tf: typeof import('@tensorflow/tfjs');
  backend: TfBackendName;
  /** What was chosen and why faster backends were not used (or that it was forced). */
  detail: string;
}

/** Thrown when a backend cannot be used in this process (package missing, no GPU, init failed). */
export class TfBackendUnavailableError extends Error {
  constructor(
    readonly backend: TfBackendName,
    readonly reason: string,
  ) {
    super(`tfjs backend '${backend}' is not available: ${reason}`);
    this.name = 'TfBackendUnavailableError';
  }
}

/** Fastest first. */
export const TF_BACKEND_ORDER: readonly TfBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/** Whether an NVIDIA GPU is visible to this process (device nodes / driver entries, CUDA_VISIBLE_DEVICES). */
export function detectVisibleGpu(): { visible: boolean; detail: string } {
  const cvd = process.env.CUDA_VISIBLE_DEVICES;
  if (cvd !== undefined && (cvd.trim() === '' || cvd.trim() === '-1')) {
    return { visible: false, detail: `CUDA_VISIBLE_DEVICES='${cvd}' hides all GPUs` };
  }
  try {
    const gpus = readdirSync('/proc/driver/nvidia/gpus');
    if (gpus.length > 0) return { visible: true, detail: `${gpus.length} GPU(s) in /proc/driver/nvidia/gpus` };
  } catch {
    // no NVIDIA driver entries
  }
  if (existsSync('/dev/nvidia0')) return { visible: true, detail: '/dev/nvidia0 present' };
  if (existsSync('/dev/dxg')) return { visible: true, detail: '/dev/dxg (WSL GPU) present' };
  return { visible: false, detail: 'no NVIDIA GPU visible (no /proc/driver/nvidia/gpus, no /dev/nvidia0)' };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
}

/** Name of the backend inside tfjs (both native packages register 'tensorflow'). */
function tfName(b: TfBackendName): string {
  return b === 'tensorflow-gpu' ? 'tensorflow' : b;
}

// Which native package got loaded: only one may be, both register 'tensorflow' and bind libtensorflow.
let nativeLoaded: 'tensorflow-gpu' | 'tensorflow' | undefined;

async function loadNative(which: 'tensorflow-gpu' | 'tensorflow'): Promise<string> {
  const pkg: string = which === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (which === 'tensorflow-gpu') {
    const gpu = detectVisibleGpu();
    if (!gpu.visible) throw new TfBackendUnavailableError(which, gpu.detail);
  }
  if (nativeLoaded !== undefined && nativeLoaded !== which) {
    throw new TfBackendUnavailableError(
      which,
      `'${nativeLoaded}' (the other native package) is already loaded in this process; only one can be`,
    );
  }
  try {
    await import(pkg);
  } catch (e) {
    throw new TfBackendUnavailableError(which, `cannot import ${pkg}: ${firstLine(e)}`);
  }
  nativeLoaded = which;
  if (tf.findBackendFactory('tensorflow') === null) {
    throw new TfBackendUnavailableError(
      which,
      `${pkg} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs (duplicate tfjs-core install?)`,
    );
  }
  return pkg;
}

async function loadWasm(): Promise<string> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new TfBackendUnavailableError('wasm', `cannot import @tensorflow/tfjs-backend-wasm: ${firstLine(e)}`);
  }
  // setWasmPaths must precede backend initialisation (it throws afterwards).
  if (tf.findBackend('wasm') === null) {
    const pkgJson = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    const dir = path.join(path.dirname(pkgJson), 'dist') + path.sep;
    wasm.setWasmPaths(dir);
  }
  registerConv2DBackpropFilterForWasm(tf);
  // wasm's own input gradient is a scalar loop; this one runs through XNNPACK's forward conv.
  registerConv2DBackpropInputForWasm(tf);
  await setAndCheck('wasm');
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const info = `SIMD ${simd ? 'on' : 'off'}, ${wasm.getThreadsCount()} thread(s)`;
  const missing = findMissingKernels(tf, 'wasm');
  return missing.length > 0 ? `${info}; kernels still missing for training: ${missing.join(', ')}` : info;
}

const loads = new Map<TfBackendName, Promise<string>>();

/** Loads/initialises a backend once per process (failures are remembered too) and activates it. */
async function activate(backend: TfBackendName): Promise<string> {
  let load = loads.get(backend);
  if (load === undefined) {
    load = (async () => {
      if (backend === 'wasm') return await loadWasm();
      const info = backend === 'cpu' ? 'pure JS' : await loadNative(backend);
      await setAndCheck(backend);
      return info;
    })();
    loads.set(backend, load);
  }
  const info = await load;
  if (tf.getBackend() !== tfName(backend)) await setAndCheck(backend);
  return info;
}

async function setAndCheck(backend: TfBackendName): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfName(backend));
    await tf.ready();
  } catch (e) {
    throw new TfBackendUnavailableError(backend, `initialisation failed: ${firstLine(e)}`);
  }
  if (!ok || tf.getBackend() !== tfName(backend)) {
    throw new TfBackendUnavailableError(backend, `tf.setBackend('${tfName(backend)}') failed`);
  }
}

const runtimes = new Map<TfBackendName, TfRuntime>();
let autoRuntime: Promise<TfRuntime> | undefined;

function runtimeFor(backend: TfBackendName, detail: string): TfRuntime {
  let rt = runtimes.get(backend);
  if (rt === undefined) {
    rt = { tf, backend, detail };
    runtimes.set(backend, rt);
  }
  return rt;
}

/**
 * Chooses the fastest available backend at run time, in this order: @tensorflow/tfjs-node-gpu (only
 * when importable AND a GPU is visible), @tensorflow/tfjs-node, wasm, cpu. Records what was chosen
 * and why. `prefer` can force one (for tests/config); an unavailable forced backend throws a clear
 * error (TfBackendUnavailableError). Safe to call repeatedly: the same backend gives the same
 * runtime object, re-activated with `tf.setBackend` if another call switched away from it.
 */
export async function initTfRuntime(opts?: { prefer?: TfBackendName; log?: Logger }): Promise<TfRuntime> {
  const log = opts?.log;
  const prefer = opts?.prefer;
  if (prefer !== undefined) {
    if (!TF_BACKEND_ORDER.includes(prefer)) {
      throw new Error(`unknown tfjs backend '${String(prefer)}' (expected one of ${TF_BACKEND_ORDER.join(', ')})`);
    }
    const info = await activate(prefer);
    const rt = runtimeFor(prefer, `forced by prefer='${prefer}' (${info})`);
    log?.info({ backend: rt.backend, detail: rt.detail }, 'tfjs backend selected');
    return rt;
  }
  if (autoRuntime === undefined) {
    autoRuntime = (async () => {
      const skipped: string[] = [];
      for (const candidate of TF_BACKEND_ORDER) {
        try {
          const info = await activate(candidate);
          const why = skipped.length > 0 ? `; faster backends skipped: ${skipped.join('; ')}` : '';
          return runtimeFor(candidate, `selected '${candidate}' (${info})${why}`);
        } catch (e) {
          const reason = e instanceof TfBackendUnavailableError ? e.reason : firstLine(e);
          skipped.push(`${candidate}: ${reason}`);
          log?.debug({ backend: candidate, reason }, 'tfjs backend unavailable');
        }
      }
      throw new Error(`no tfjs backend could be initialised: ${skipped.join('; ')}`);
    })();
    // A total failure is not cached: a later call may retry.
    autoRuntime.catch(() => {
      autoRuntime = undefined;
    });
  }
  const rt = await autoRuntime;
  await activate(rt.backend); // another call may have switched backends since
  log?.info({ backend: rt.backend, detail: rt.detail }, 'tfjs backend selected');
  return rt;
}
