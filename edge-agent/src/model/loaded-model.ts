import { readFile } from 'node:fs/promises';
import { EdgeloopError, FaceDetector, FaceGallery, type FaceSpec, type Logger, type Manifest, OnnxModel } from '@edgeloop/shared';
import type { ContentStore } from './content-store.js';
import { Lifecycle } from './lifecycle.js';

/** A face bundle's other parts: they load, serve and unload together with its embedding network. */
export interface FaceAssets {
  detector: FaceDetector;
  gallery: FaceGallery;
  spec: FaceSpec;
}

/** One model version in memory, with the count of requests running on it. */
export class LoadedModel {
  private inflight = 0;
  private drainedWaiters: (() => void)[] = [];

  constructor(
    readonly manifest: Manifest,
    readonly network: OnnxModel,
    readonly lifecycle: Lifecycle,
    readonly face: FaceAssets | null = null,
  ) {}

  get version(): number {
    return this.manifest.version;
  }

  get inFlight(): number {
    return this.inflight;
  }

  enter(): void {
    this.inflight++;
  }

  leave(): void {
    this.inflight--;
    if (this.inflight === 0) for (const w of this.drainedWaiters.splice(0)) w();
  }

  /** Resolves once no request is running on this model. */
  drained(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  async unload(reason: string): Promise<void> {
    await this.drained();
    this.lifecycle.transition('unloaded', reason);
    await this.network.release();
    await this.face?.detector.release();
  }
}

/**
 * verifying → loading → warming → ready: re-checks the installed files, opens the network in
 * onnxruntime and runs one warm-up inference whose output must be finite.
 */
export async function loadModel(opts: {
  manifest: Manifest;
  store: ContentStore;
  log: Logger;
  intraOpThreads: number;
  lifecycle?: Lifecycle;
}): Promise<LoadedModel> {
  const { manifest, store } = opts;
  const lc = opts.lifecycle ?? new Lifecycle(`v${manifest.version} offered`);
  try {
    if (lc.state === 'idle' || lc.state === 'downloading') lc.transition('verifying', 'checking installed files');
    for (const f of manifest.files) await store.verify(f);
    const net = manifest.files.find((f) => f.role === 'network');
    if (!net) throw new EdgeloopError('model-load', 'manifest has no network file');
    lc.transition('loading', 'opening network in onnxruntime');
    const bytes = await readFile(store.pathOf(net.sha256));
    const network = await OnnxModel.load(bytes, manifest.preprocess, { intraOpThreads: opts.intraOpThreads });
    let face: FaceAssets | null = null;
    try {
      face = manifest.face ? await loadFaceAssets(manifest, manifest.face, store, opts.intraOpThreads) : null;
      lc.transition('warming', 'warm-up inference');
      const { channels, height, width } = manifest.preprocess;
      const out = await network.runTensor(new Float32Array(channels * height * width));
      if (out.length === 0 || !out.every(Number.isFinite)) throw new EdgeloopError('model-warmup', 'warm-up produced non-finite output');
      if (face && face.gallery.dim !== out.length) {
        throw new EdgeloopError('model-load', `gallery templates have ${face.gallery.dim} values, the network's embedding ${out.length}`);
      }
      if (face) await face.detector.detect({ data: new Uint8Array(64 * 48), width: 64, height: 48 });
    } catch (err) {
      await network.release();
      await face?.detector.release();
      throw err;
    }
    lc.transition('ready', 'warmed up');
    return new LoadedModel(manifest, network, lc, face);
  } catch (err) {
    lc.fail((err as Error).message);
    throw err;
  }
}

async function loadFaceAssets(manifest: Manifest, spec: FaceSpec, store: ContentStore, intraOpThreads: number): Promise<FaceAssets> {
  const file = (role: 'detector' | 'gallery') => {
    const f = manifest.files.find((x) => x.role === role);
    if (!f) throw new EdgeloopError('model-load', `face bundle has no ${role} file`);
    return readFile(store.pathOf(f.sha256));
  };
  let gallery: FaceGallery;
  try {
    gallery = FaceGallery.decode(await file('gallery'));
  } catch (err) {
    throw new EdgeloopError('model-load', `gallery: ${(err as Error).message}`);
  }
  if (gallery.size !== spec.members) throw new EdgeloopError('model-load', `gallery holds ${gallery.size} members, the manifest says ${spec.members}`);
  const detector = await FaceDetector.load(await file('detector'), spec.detector, { intraOpThreads });
  return { detector, gallery, spec };
}
