import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import type { TfRuntime } from '../tfjs/backend.js';

type Tf = TfRuntime['tf'];

/**
 * Saves a tfjs LayersModel (topology + weights) into a folder: weights first, then model.json, each
 * written temp + fsync + rename, so a folder with a model.json always holds a complete model.
 */
export async function saveLayersModel(tf: Tf, model: TfModule.LayersModel, dir: string, meta: Record<string, unknown> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const bytes = Array.isArray(data) ? Buffer.concat(data.map((b) => Buffer.from(b))) : Buffer.from(data as ArrayBuffer);
      await writeFileAtomic(join(dir, 'weights.bin'), bytes);
      const manifest = { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, meta };
      await writeFileAtomic(join(dir, 'model.json'), JSON.stringify(manifest));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** Loads what saveLayersModel wrote; null when the folder holds no complete model. */
export async function loadLayersModel(tf: Tf, dir: string): Promise<{ model: TfModule.LayersModel; meta: Record<string, unknown> } | null> {
  let manifest: { modelTopology: object; weightSpecs: TfModule.io.WeightsManifestEntry[]; meta: Record<string, unknown> };
  let weights: Buffer;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as typeof manifest;
    weights = await readFile(join(dir, 'weights.bin'));
  } catch {
    return null;
  }
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: manifest.modelTopology, weightSpecs: manifest.weightSpecs, weightData }));
  return { model, meta: manifest.meta };
}

/** The newest complete checkpoint under `root` (folders `epoch-<n>`), or null. */
export async function latestCheckpoint(tf: Tf, root: string): Promise<{ epoch: number; model: TfModule.LayersModel } | null> {
  const epochs = (await readdir(root).catch(() => [] as string[]))
    .map((n) => /^epoch-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  for (const epoch of epochs) {
    const loaded = await loadLayersModel(tf, join(root, `epoch-${epoch}`));
    if (loaded) return { epoch, model: loaded.model };
  }
  return null;
}
