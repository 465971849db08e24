import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalize, DEFAULT_CROP, decodeGrey, type DetectorSpec, encodeGreyPng, FaceDetector, resample, sha256Hex, writeFileAtomic } from '@edgeloop/shared';
import { enrolmentCrop } from '../../faces/enrolment-crop.js';
import { augmentPhoto } from './augment.js';
import { type ExportOutput, rolloutStage, type VerifyOutput, verifyWith } from './common-stages.js';
import { type Dataset, type DatasetItem, datasetHashes } from './laundry-pipeline.js';
import type { PipelineDeps } from './pipeline-deps.js';
import type { Pipeline } from './saga.js';
import { splitDataset } from './split.js';
import { runWorker } from './worker.js';

/** Face crops are stored at twice the embedder's usual input, the framing of an ORL photo. */
export const CROP_SIZE = { width: 92, height: 112 };

interface FaceItem {
  sha256: string;
  label: string;
  source: 'enrolment' | 'sample';
}

export interface FaceDataset extends Dataset {
  /** Enrolment crops of the training split: the gallery the probes are matched against. */
  gallery: DatasetItem[];
  /** Nightly samples (not augmented): the drift figure. */
  samples: DatasetItem[];
}

/**
 * The nightly face saga. Training data: the enrolment photos (human-labelled) and the door's own
 * successful matches (face samples). A fixed share of enrolment photos never trains: it is the
 * human-labelled test set every candidate must pass, and the drift of the samples from the
 * enrolment photos is measured on every run.
 */
export function facePipeline(deps: PipelineDeps): Pipeline {
  const cfg = deps.config;
  return {
    async collect(ctx) {
      const members = deps.intake.listMembers().filter((m) => m.photos.length >= 2);
      if (members.length < 2) throw new Error(`face training needs at least 2 members with 2 photos, found ${members.length}`);
      const ids = new Set(members.map((m) => m.id));
      const items: FaceItem[] = [
        ...members.flatMap((m) => m.photos.map((sha256) => ({ sha256, label: m.id, source: 'enrolment' as const }))),
        ...deps.intake
          .faceSamples(cfg.face.maxSamples)
          .filter((s) => ids.has(s.memberId))
          .map((s) => ({ sha256: s.sha256, label: s.memberId, source: 'sample' as const })),
      ];
      await writeFileAtomic(join(ctx.dir, 'collect.json'), JSON.stringify(items));
      return { members: members.length, enrolment: items.filter((i) => i.source === 'enrolment').length, samples: items.filter((i) => i.source === 'sample').length, collectSha256: sha256Hex(canonicalize(items)) };
    },

    async prepare(ctx) {
      const items = JSON.parse(await readFile(join(ctx.dir, 'collect.json'), 'utf8')) as FaceItem[];
      const det = await detectorFor(deps, ctx.dir, ctx.run.seed, ctx.signal);
      const detector = await FaceDetector.load(det.onnx, det.spec);
      const dir = join(ctx.dir, 'dataset');
      await mkdir(dir, { recursive: true });
      let undetected = 0;
      const cropOf = async (it: FaceItem): Promise<DatasetItem> => {
        const photo = await readFile(deps.artifacts.pathOf(it.sha256));
        let png: Buffer;
        if (it.source === 'sample') {
          const img = await decodeGrey(photo); // the door already aligned it
          png = await encodeGreyPng(resample(img, 0, 0, img.width, img.height, CROP_SIZE.width, CROP_SIZE.height));
        } else {
          const c = await enrolmentCrop(photo, detector, { crop: DEFAULT_CROP }, CROP_SIZE);
          if (!c.detected) undetected++;
          png = await encodeGreyPng(c.crop);
        }
        const file = join(dir, `${it.sha256}.crop.png`);
        await writeFile(file, png);
        return { file, label: it.label, sha256: sha256Hex(png), source: it.sha256 };
      };
      try {
        const enrol = items.filter((i) => i.source === 'enrolment');
        const split = splitDataset(enrol, { holdoutFraction: cfg.holdoutFraction, valFraction: cfg.valFraction, seed: ctx.run.seed, minTrainPerLabel: 3 });
        const dataset: FaceDataset = { train: [], validation: [], holdout: [], gallery: [], samples: [] };
        for (const it of split.holdout) dataset.holdout.push(await cropOf(it));
        for (const it of split.val) dataset.validation.push(await cropOf(it));
        for (const it of split.train) dataset.gallery.push(await cropOf(it));
        for (const it of items.filter((i) => i.source === 'sample')) dataset.samples.push(await cropOf(it));
        for (const [n, base] of [...dataset.gallery, ...dataset.samples].entries()) {
          if (ctx.signal.aborted) throw new Error('aborted');
          dataset.train.push(base);
          for (const [k, v] of (await augmentPhoto(await readFile(base.file), cfg.variants - 1, ctx.run.seed * 100_003 + n)).entries()) {
            const file = `${base.file}.aug${k}.png`;
            await writeFile(file, v.png);
            dataset.train.push({ file, label: base.label, sha256: sha256Hex(v.png), source: base.source });
          }
        }
        await writeFileAtomic(join(ctx.dir, 'dataset.json'), JSON.stringify(dataset));
        return {
          train: dataset.train.length,
          validation: dataset.validation.length,
          holdout: dataset.holdout.length,
          samples: dataset.samples.length,
          undetected,
          detectorSha256: sha256Hex(det.onnx),
          ...datasetHashes(dataset),
        };
      } finally {
        await detector.release();
      }
    },

    async train(ctx) {
      return runWorker(
        { kind: 'train-face', runDir: ctx.dir, seed: ctx.run.seed, epochs: cfg.face.epochs, training: cfg.training },
        { onProgress: (p) => ctx.progress(p), signal: ctx.signal, timeoutMs: cfg.stageTimeoutMs },
      );
    },

    async export(ctx) {
      return runWorker({ kind: 'export-face', runDir: ctx.dir, parityTolerance: 1e-4, paritySamples: 100, seed: ctx.run.seed }, { signal: ctx.signal, timeoutMs: cfg.stageTimeoutMs });
    },

    async verify(ctx) {
      const exp = ctx.output<ExportOutput>('export');
      const dataset = JSON.parse(await readFile(join(ctx.dir, 'dataset.json'), 'utf8')) as FaceDataset;
      const active = deps.registry.active('face');
      const nets = active ? await deps.faces.networksOf(active) : null;
      let service = null;
      if (active && nets) {
        const network = join(ctx.dir, 'service-embedder.onnx');
        await writeFile(network, nets.embedder.onnx);
        service = { network, preprocess: nets.embedder.preprocess, labels: [], threshold: nets.threshold };
      }
      const labelled = (list: DatasetItem[]) => list.map((i) => ({ file: i.file, label: i.label }));
      return verifyWith(
        deps,
        ctx,
        {
          modelType: 'face',
          candidate: { network: exp.onnxFile, preprocess: exp.preprocess, labels: [], ...(exp.threshold !== undefined ? { threshold: exp.threshold } : {}) },
          service,
          validation: labelled(dataset.validation),
          holdout: labelled(dataset.holdout),
          gallery: labelled(dataset.gallery),
          samples: labelled(dataset.samples),
        },
        service ? (active?.version ?? null) : null,
      );
    },

    async register(ctx) {
      const exp = ctx.output<ExportOutput>('export');
      const ver = ctx.output<VerifyOutput>('verify');
      const existing = deps.registry.list('face').find((v) => v.signed.signed.evidenceSha256 === ver.reportSha256);
      const det = JSON.parse(await readFile(join(ctx.dir, 'detector.json'), 'utf8')) as DetectorSpec;
      const rec =
        existing ??
        (await deps.faces.register(
          { embedder: { onnx: await readFile(exp.onnxFile), preprocess: exp.preprocess }, detector: { onnx: await readFile(join(ctx.dir, 'detector.onnx')), spec: det }, threshold: exp.threshold ?? 0.5 },
          { label: `face training run ${ctx.run.id}`, status: 'verified', parentVersion: ver.serviceVersion, metrics: ver.metrics, evidenceSha256: ver.reportSha256 },
        ));
      deps.store.update(ctx.run.id, { candidateVersion: rec.version });
      return { version: rec.version, reused: existing !== undefined };
    },

    rollout: (ctx) => rolloutStage(deps, ctx),
  };
}

/** The detector in service (a detector learns from synthetic scenes: it rarely needs retraining), or a newly trained one. */
async function detectorFor(deps: PipelineDeps, runDir: string, seed: number, signal: AbortSignal): Promise<{ onnx: Uint8Array; spec: DetectorSpec }> {
  const active = deps.registry.active('face');
  const nets = active && !deps.config.face.retrainDetector ? await deps.faces.networksOf(active) : null;
  let det: { onnx: Uint8Array; spec: DetectorSpec };
  if (nets) det = nets.detector;
  else {
    const out = await runWorker({ kind: 'train-face-detector', runDir, seed, budget: deps.config.face.detectorBudget }, { signal, timeoutMs: deps.config.stageTimeoutMs });
    det = { onnx: await readFile(String(out.onnxFile)), spec: out.spec as DetectorSpec };
  }
  await writeFileAtomic(join(runDir, 'detector.onnx'), det.onnx);
  await writeFileAtomic(join(runDir, 'detector.json'), JSON.stringify(det.spec));
  return det;
}
