import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalize, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import type { Pipeline, StageContext } from './saga.js';
import { augmentPhoto } from './augment.js';
import type { PipelineDeps } from './pipeline-deps.js';
import { registerStage, rolloutStage, verifyStage } from './common-stages.js';
import { splitDataset } from './split.js';
import { runWorker } from './worker.js';

export interface DatasetItem {
  file: string;
  label: string;
  sha256: string;
  /** The intake photo it came from (augmented variants share it). */
  source: string;
}

export interface Dataset {
  train: DatasetItem[];
  validation: DatasetItem[];
  holdout: DatasetItem[];
}

/** Dataset file → its content hash, and the dataset's own hash over every item (what the report cites). */
export function datasetHashes(d: Dataset): { datasetSha256: string; holdoutSha256: string } {
  return { datasetSha256: sha256Hex(canonicalize(d)), holdoutSha256: sha256Hex(canonicalize(d.holdout)) };
}

/** The laundry saga (UC-24): branch managers' confirmed and corrected photos → a better classifier. */
export function laundryPipeline(deps: PipelineDeps): Pipeline {
  const cfg = deps.config;
  return {
    async collect(ctx) {
      const tasks = deps.intake.confirmedTasks({ limit: cfg.maxPhotos });
      const items = tasks.map((t) => ({ sha256: t.sha256, label: t.finalResult, taskId: t.taskId, corrected: t.corrected })).sort((a, b) => (a.taskId < b.taskId ? -1 : 1));
      const perClass = { good: items.filter((i) => i.label === 'good').length, defect: items.filter((i) => i.label === 'defect').length };
      if (perClass.good < cfg.minPerClass || perClass.defect < cfg.minPerClass) {
        throw new Error(`not enough confirmed photos: ${perClass.good} good, ${perClass.defect} defect (need ${cfg.minPerClass} of each)`);
      }
      await writeFileAtomic(join(ctx.dir, 'collect.json'), JSON.stringify(items));
      return { photos: items.length, perClass, corrected: items.filter((i) => i.corrected).length, collectSha256: sha256Hex(canonicalize(items)) };
    },

    async prepare(ctx) {
      const items = JSON.parse(await readFile(join(ctx.dir, 'collect.json'), 'utf8')) as { sha256: string; label: string }[];
      const split = splitDataset(items, { holdoutFraction: cfg.holdoutFraction, valFraction: cfg.valFraction, seed: ctx.run.seed });
      const dir = join(ctx.dir, 'dataset');
      await mkdir(dir, { recursive: true });
      const copy = async (it: { sha256: string; label: string }): Promise<DatasetItem> => {
        const file = join(dir, `${it.sha256}.img`);
        await copyFile(deps.artifacts.pathOf(it.sha256), file);
        return { file, label: it.label, sha256: it.sha256, source: it.sha256 };
      };
      const dataset: Dataset = { train: [], validation: [], holdout: [] };
      for (const it of split.val) dataset.validation.push(await copy(it));
      for (const it of split.holdout) dataset.holdout.push(await copy(it));
      for (const [n, it] of split.train.entries()) {
        if (ctx.signal.aborted) throw new Error('aborted');
        const photo = await readFile(deps.artifacts.pathOf(it.sha256));
        // The photo itself plus (variants - 1) augmented copies.
        dataset.train.push(await copy(it));
        for (const [k, v] of (await augmentPhoto(photo, cfg.variants - 1, ctx.run.seed * 100_003 + n)).entries()) {
          const file = join(dir, `${it.sha256}.aug${k}.png`);
          await writeFile(file, v.png);
          dataset.train.push({ file, label: it.label, sha256: sha256Hex(v.png), source: it.sha256 });
        }
      }
      await writeFileAtomic(join(ctx.dir, 'dataset.json'), JSON.stringify(dataset));
      return { train: dataset.train.length, validation: dataset.validation.length, holdout: dataset.holdout.length, photos: items.length, ...datasetHashes(dataset) };
    },

    async train(ctx) {
      return runWorker(
        { kind: 'train-laundry', runDir: ctx.dir, seed: ctx.run.seed, training: cfg.training },
        { onProgress: (p) => ctx.progress(p), signal: ctx.signal, timeoutMs: cfg.stageTimeoutMs },
      );
    },

    async export(ctx) {
      return runWorker({ kind: 'export-laundry', runDir: ctx.dir, parityTolerance: 1e-4, paritySamples: 100 }, { signal: ctx.signal, timeoutMs: cfg.stageTimeoutMs });
    },

    verify: (ctx: StageContext) => verifyStage(deps, ctx),
    register: (ctx: StageContext) => registerStage(deps, ctx),
    rollout: (ctx: StageContext) => rolloutStage(deps, ctx),
  };
}
