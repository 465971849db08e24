// pnpm bench infer [--frames 300] [--gallery 10000] [--real-members 8] [--epochs 20] [--format jpeg|png]
//                  [--laundry 600] [--in-flight 3] [--skip-face] [--skip-laundry]
// On-device inference speed, in this process, through the agent's own code paths:
// - face: edge-agent decideFace (decode → detect → crop → embed → gallery match) on encoded 320×240
//   camera frames with one member's face each, against an N-member gallery; networks trained by the
//   hub's trainers (detector budget 'full', embedder as it ships: default architecture, mirror-averaged).
//   One frame at a time, as a door does. A second pass times the parts separately.
// - laundry: classifyLaundry on encoded 224×224 fabric photos, the shipped network shape (untrained
//   weights: speed does not depend on them), intraOpThreads 1, `--in-flight` requests at once.
// Logs go to stderr; the last stdout line is one JSON object. `cpu.*.otherCpuS` is CPU the rest of the
// machine used during that measured phase: when it is large, other processes disturbed the run.
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { decideFace } from '../edge-agent/src/inference/face-pipeline.js';
import type { SyntheticImageFormat } from '../hub/src/training/synthetic/encode.js';
import { initTfRuntime } from '../hub/src/training/tfjs/backend.js';
import { cpuWindow, round, stats } from './infer/cpu.js';
import { decisionParts, setupFace } from './infer/face.js';
import { laundryParts, laundryThroughput, setupLaundry } from './infer/laundry.js';
import { intArg } from './support/args.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '300' },
    gallery: { type: 'string', default: '10000' },
    'real-members': { type: 'string', default: '8' },
    epochs: { type: 'string', default: '20' },
    format: { type: 'string', default: 'jpeg' },
    laundry: { type: 'string', default: '600' },
    'in-flight': { type: 'string', default: '3' },
    'skip-face': { type: 'boolean', default: false },
    'skip-laundry': { type: 'boolean', default: false },
  },
});
const FRAMES = intArg('frames', values.frames, 10);
const GALLERY = intArg('gallery', values.gallery, 1);
const REAL = Math.min(GALLERY, intArg('real-members', values['real-members'], 2));
const EPOCHS = intArg('epochs', values.epochs, 1);
const LAUNDRY = intArg('laundry', values.laundry, 10);
const IN_FLIGHT = intArg('in-flight', values['in-flight'], 1);
const FORMAT = values.format as SyntheticImageFormat;
if (FORMAT !== 'jpeg' && FORMAT !== 'png') {
  console.error('--format must be jpeg or png');
  process.exit(2);
}
const FACE_GOAL_MS = 30;
const LAUNDRY_GOAL = 100;
const startedAt = performance.now();
const note = (s: string) => console.error(`[infer ${((performance.now() - startedAt) / 1000).toFixed(0)}s] ${s}`);

const result: Record<string, unknown> = {
  bench: 'infer',
  cpuCount: availableParallelism(),
  loadAvg: loadavg().map((v) => round(v)),
  node: process.version,
};
const cpu: Record<string, unknown> = {};
const tf = await initTfRuntime();
result.backend = tf.backend;
note(`tfjs backend ${tf.backend}; load average ${(result.loadAvg as number[]).join(' ')}`);

if (!values['skip-face']) {
  const b = await setupFace({ tf, galleryMembers: GALLERY, realMembers: REAL, frames: FRAMES, epochs: EPOCHS, format: FORMAT, note });
  note(`face bundle ready: ${JSON.stringify(b.info)}`);
  const warmup = Math.min(20, b.frames.length);
  for (const f of b.frames.slice(0, warmup)) await decideFace(b.network, b.assets, f.bytes);
  const latencies: number[] = [];
  const decisions = { member: 0, stranger: 0, 'no-face': 0 };
  let rightMember = 0;
  let wrongMember = 0;
  let nearestRight = 0;
  const faceCpu = cpuWindow();
  for (const f of b.frames) {
    const t0 = performance.now();
    const { decision: d } = await decideFace(b.network, b.assets, f.bytes);
    latencies.push(performance.now() - t0);
    decisions[d.decision]++;
    if (d.decision === 'member' && d.memberId === f.memberId) rightMember++;
    else if (d.decision === 'member') wrongMember++;
    if (d.faces[0]?.memberId === f.memberId) nearestRight++;
  }
  cpu.face = faceCpu();
  const parts = { decodeMs: [] as number[], pyramidMs: [] as number[], detectMs: [] as number[], embedMs: [] as number[], matchMs: [] as number[] };
  for (const f of b.frames) {
    const p = await decisionParts(b, f.bytes);
    for (const k of Object.keys(parts) as (keyof typeof parts)[]) parts[k].push(p[k]);
  }
  await b.release();
  const s = stats(latencies);
  Object.assign(result, {
    faceP50Ms: s.p50,
    faceP95Ms: s.p95,
    faceMeanMs: s.mean,
    faceGoalP95Ms: FACE_GOAL_MS,
    faceGoalMet: s.p95 <= FACE_GOAL_MS,
    faceFrames: latencies.length,
    faceWarmupFramesExcluded: warmup,
    decisions,
    rightMember,
    wrongMember,
    // Frames whose largest face's closest gallery member is the right one, accepted or not.
    nearestRight,
    // Part medians/p95 from a second, sequential pass; pyramidMs is inside detectMs.
    faceParts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, stats(v)])),
    face: b.info,
  });
  result.detectMs = (result.faceParts as Record<string, { p50: number }>).detectMs?.p50;
  result.embedMs = (result.faceParts as Record<string, { p50: number }>).embedMs?.p50;
  result.matchMs = (result.faceParts as Record<string, { p50: number }>).matchMs?.p50;
  note(`face p50 ${s.p50} ms, p95 ${s.p95} ms; ${JSON.stringify(decisions)}`);
}

if (!values['skip-laundry']) {
  const b = await setupLaundry({ tf, photos: 64, format: FORMAT });
  const byInFlight: Record<string, { imagesPerSec: number; p50Ms: number; p95Ms: number }> = {};
  for (const k of [...new Set([1, 2, IN_FLIGHT, 4])].sort((a, c) => a - c)) {
    const win = cpuWindow();
    const r = await laundryThroughput(b, k, k === IN_FLIGHT ? LAUNDRY : Math.ceil(LAUNDRY / 3), 20);
    const c = win();
    const s = stats(r.latencies);
    byInFlight[k] = { imagesPerSec: round(r.imagesPerSec, 1), p50Ms: s.p50, p95Ms: s.p95 };
    if (k === IN_FLIGHT) {
      cpu.laundry = c;
      Object.assign(result, { laundryImagesPerSec: round(r.imagesPerSec, 1), laundryP50Ms: s.p50, laundryP95Ms: s.p95, laundryInFlight: k, laundryImages: r.latencies.length, laundryTilesPerImage: r.tiles });
    }
    note(`laundry in flight ${k}: ${byInFlight[k]?.imagesPerSec}/s, p95 ${s.p95} ms, cpu ${JSON.stringify(c)}`);
  }
  const tilesMs: number[] = [];
  const runMs: number[] = [];
  let inputs = 0;
  for (let i = 0; i < 100; i++) {
    const p = await laundryParts(b, b.photos[i % b.photos.length] as Buffer);
    tilesMs.push(p.tilesMs);
    runMs.push(p.runMs);
    inputs = p.inputs;
  }
  await b.release();
  Object.assign(result, {
    laundryGoalImagesPerSec: LAUNDRY_GOAL,
    laundryGoalMet: (result.laundryImagesPerSec as number) >= LAUNDRY_GOAL,
    laundryByInFlight: byInFlight,
    // One request at a time: decode + tiles (sharp, TS) vs the batched onnxruntime run of `inputs` inputs.
    laundryParts: { tilesMs: stats(tilesMs), runMs: stats(runMs), networkInputsPerImage: inputs },
    laundry: { photo: `224x224 ${FORMAT}`, network: 'buildLaundryNetwork (shipped shape), untrained weights', input: `${b.spec.width}x${b.spec.height}`, intraOpThreads: 1 },
  });
}

result.cpu = cpu;
result.loadAvgEnd = loadavg().map((v) => round(v));
result.seconds = Math.round((performance.now() - startedAt) / 1000);
console.log(JSON.stringify(result));
