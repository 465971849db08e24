import { readFile } from 'node:fs/promises';
import {
  classifyLaundry,
  decodeGrey,
  FaceGallery,
  faceTensor,
  type GreyImage,
  normalizeEmbedding,
  OnnxModel,
  resample,
} from '@edgeloop/shared';
import type { ClassMetrics, FaceMetrics, VerifyJob } from './job.js';

type Labelled = VerifyJob['validation'];
type Net = NonNullable<VerifyJob['service']>;

/** Laundry photos through the device's own classifier (whole photo + tiles, worst tile decides). */
export async function laundryMetrics(model: OnnxModel, net: Net, items: Labelled): Promise<ClassMetrics> {
  const labels = net.labels;
  const confusion: Record<string, Record<string, number>> = {};
  for (const a of labels) confusion[a] = Object.fromEntries(labels.map((p) => [p, 0]));
  let correct = 0;
  let errors = 0;
  for (const it of items) {
    try {
      const r = await classifyLaundry(model, labels, await readFile(it.file), net.preprocess);
      const row = confusion[it.label];
      if (row) row[r.label] = (row[r.label] ?? 0) + 1;
      if (r.label === it.label) correct++;
    } catch {
      errors++;
    }
  }
  const perClass: Record<string, number> = {};
  for (const l of labels) {
    const row = confusion[l] ?? {};
    const total = Object.values(row).reduce((a, b) => a + b, 0);
    if (total > 0) perClass[l] = (row[l] ?? 0) / total;
  }
  return { accuracy: items.length ? correct / items.length : 0, perClass, confusion, n: items.length, errors };
}

/** A face crop file → the embedder's input size (crops are stored once; networks differ in input size). */
export async function cropOf(file: string, net: Net): Promise<GreyImage> {
  const img = await decodeGrey(await readFile(file));
  const { width, height } = net.preprocess;
  return img.width === width && img.height === height ? img : resample(img, 0, 0, img.width, img.height, width, height);
}

export async function embed(model: OnnxModel, net: Net, file: string): Promise<Float32Array> {
  return normalizeEmbedding(await model.runTensor(faceTensor(await cropOf(file, net), net.preprocess)));
}

/**
 * Open-set identification of labelled probes against the gallery: rank-1 (closed set), FRR (not
 * accepted as themselves), FAR (accepted as someone when their own identity is left out of the
 * gallery, i.e. each probe also acts as a stranger).
 */
export async function faceMetrics(model: OnnxModel, net: Net, gallery: Labelled, probes: Labelled): Promise<FaceMetrics & { embeddings: Map<string, Float32Array[]> }> {
  const threshold = net.threshold ?? 0.5;
  const byMember = new Map<string, Float32Array[]>();
  let errors = 0;
  for (const g of gallery) {
    try {
      byMember.set(g.label, [...(byMember.get(g.label) ?? []), await embed(model, net, g.file)]);
    } catch {
      errors++;
    }
  }
  const entries = [...byMember].map(([memberId, embeddings]) => ({ memberId, embeddings }));
  const full = FaceGallery.fromEntries(entries);
  const without = new Map([...byMember.keys()].map((id) => [id, FaceGallery.fromEntries(entries.filter((e) => e.memberId !== id), full.dim)]));
  let rank1 = 0;
  let rejected = 0;
  let falseAccepts = 0;
  let n = 0;
  for (const p of probes) {
    let e: Float32Array;
    try {
      e = await embed(model, net, p.file);
    } catch {
      errors++;
      continue;
    }
    n++;
    const m = full.match(e);
    if (m?.memberId === p.label) rank1++;
    if (!(m && m.memberId === p.label && m.score >= threshold)) rejected++;
    const s = without.get(p.label)?.match(e);
    if (s && s.score >= threshold) falseAccepts++;
  }
  return { rank1: n ? rank1 / n : 0, far: n ? falseAccepts / n : 0, frr: n ? rejected / n : 1, threshold, probes: n, errors, embeddings: byMember };
}

/** 1 − mean cosine to the own enrolment centroid, samples minus enrolment photos: how far the nightly data drifted. */
export async function driftOf(model: OnnxModel, net: Net, byMember: Map<string, Float32Array[]>, samples: Labelled): Promise<number | null> {
  if (samples.length === 0) return null;
  const centroids = new Map<string, Float32Array>();
  let enrolSim = 0;
  let enrolN = 0;
  for (const [id, list] of byMember) {
    const c = unit(list.reduce((acc, v) => acc.map((x, i) => x + (v[i] as number)), new Float32Array(list[0]?.length ?? 0)));
    centroids.set(id, c);
    for (const v of list) {
      enrolSim += dot(v, c);
      enrolN++;
    }
  }
  let sampleSim = 0;
  let sampleN = 0;
  for (const s of samples) {
    const c = centroids.get(s.label);
    if (!c) continue;
    sampleSim += dot(await embed(model, net, s.file), c);
    sampleN++;
  }
  if (sampleN === 0 || enrolN === 0) return null;
  return Math.max(0, enrolSim / enrolN - sampleSim / sampleN);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function unit(v: Float32Array): Float32Array {
  const n = Math.sqrt(dot(v, v)) || 1;
  return v.map((x) => x / n);
}

export async function loadNet(net: Net): Promise<OnnxModel> {
  return OnnxModel.load(await readFile(net.network), net.preprocess, { intraOpThreads: 1 });
}
