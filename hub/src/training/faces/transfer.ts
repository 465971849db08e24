/**
 * Head-only training on an operator-supplied ONNX backbone: the backbone runs in onnxruntime (the
 * device path) to give features, only a dense head is trained in tfjs (cosine softmax, as in
 * embedder-training.ts), and ONE ONNX network is written: the backbone graph, untouched, plus
 * Flatten → MatMul → Add → LpNormalization appended.
 *
 * The backbone is edited at the protobuf wire level: every field of the operator's model (including
 * ones our trimmed onnx.proto does not know) is copied byte for byte; only the graph's outputs are
 * replaced and the head's nodes and initializers appended.
 */
import { OnnxModel, pixelsToTensor, type Logger, type PreprocessSpec } from '@edgeloop/shared';
import protobuf from 'protobufjs';
import type * as TfModule from '@tensorflow/tfjs';
import { loadOnnxRoot, tensorToProto } from '../onnx/onnx-writer.js';
import { seededRandom } from '../seeded-random.js';
import { initTfRuntime, type TfRuntime } from '../tfjs/backend.js';
import { augmentToTensor, DEFAULT_AUGMENT, resizeGrey } from './augment.js';
import type { EpochProgress, FaceTrainingSample } from './embedder-training.js';

export class BackboneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackboneError';
  }
}

export interface HeadTrainingOptions {
  backboneOnnx: Uint8Array;
  backbonePreprocess: PreprocessSpec;
  samples: readonly FaceTrainingSample[];
  seed: number;
  tf?: TfRuntime;
  epochs?: number;
  embeddingDim?: number;
  /** Augmented copies per photo whose features are computed once (default 4, plus the photo itself). */
  augmentCopies?: number;
  scale?: number;
  margin?: number;
  /** Output name of the composed network (default 'embedding', 'head_embedding' when the backbone's output is called that). */
  outputName?: string;
  log?: Logger;
  onProgress?: (p: EpochProgress) => void;
  signal?: AbortSignal;
}

export interface HeadTrainingResult {
  onnx: Uint8Array;
  preprocess: PreprocessSpec;
  backend: string;
  epochs: number;
  history: EpochProgress[];
  seconds: number;
  featureDim: number;
  head: { weights: Float32Array; bias: Float32Array; dim: number };
}

async function backboneFeatures(opts: HeadTrainingOptions, labels: number[]): Promise<{ x: Float32Array; y: number[]; dim: number }> {
  const spec = opts.backbonePreprocess;
  if (spec.channels !== 1) throw new BackboneError('only single-channel (grey) backbones are supported');
  const model = await OnnxModel.load(opts.backboneOnnx, spec, { intraOpThreads: 2 });
  const rand = seededRandom(opts.seed * 31 + 5);
  const copies = opts.augmentCopies ?? 4;
  const feats: Float32Array[] = [];
  const y: number[] = [];
  try {
    for (const [i, s] of opts.samples.entries()) {
      const px = await resizeGrey(s.image, spec.width, spec.height);
      const inputs = [pixelsToTensor(px, spec)];
      for (let k = 0; k < copies; k++) inputs.push(augmentToTensor(px, spec, rand, DEFAULT_AUGMENT));
      const flat = new Float32Array(inputs.length * (inputs[0] as Float32Array).length);
      inputs.forEach((t, j) => {
        flat.set(t, j * t.length);
      });
      const out = await model.runTensor(flat, inputs.length);
      const d = out.length / inputs.length;
      for (let j = 0; j < inputs.length; j++) {
        feats.push(out.slice(j * d, (j + 1) * d));
        y.push(labels[i] as number);
      }
    }
  } finally {
    await model.release();
  }
  const dim = feats[0]?.length ?? 0;
  const x = new Float32Array(feats.length * dim);
  feats.forEach((f, i) => {
    x.set(f, i * dim);
  });
  return { x, y, dim };
}

function l2n(tf: TfRuntime['tf'], x: TfModule.Tensor, axis: number): TfModule.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), axis, true), 1e-10)));
}

export async function trainHeadOnBackbone(opts: HeadTrainingOptions): Promise<HeadTrainingResult> {
  const started = performance.now();
  const rt = opts.tf ?? (await initTfRuntime({ log: opts.log }));
  const tf = rt.tf;
  const names = [...new Set(opts.samples.map((s) => s.identity))].sort();
  if (names.length < 2) throw new BackboneError(`need at least 2 training identities, got ${names.length}`);
  const index = new Map(names.map((n, i) => [n, i]));
  const feats = await backboneFeatures(opts, opts.samples.map((s) => index.get(s.identity) as number));
  const dim = opts.embeddingDim ?? 64;
  const epochs = opts.epochs ?? 60;
  const scale = opts.scale ?? 16;
  const margin = opts.margin ?? 0.2;
  const n = feats.y.length;
  const rand = seededRandom(opts.seed);
  const glorot = (fanIn: number, fanOut: number, count: number): Float32Array =>
    Float32Array.from({ length: count }, () => (rand() * 2 - 1) * Math.sqrt(6 / (fanIn + fanOut)));
  const variable = (init: TfModule.Tensor): TfModule.Variable => {
    const v = tf.variable(init, true);
    init.dispose();
    return v;
  };
  const w = variable(tf.tensor2d(glorot(feats.dim, dim, feats.dim * dim), [feats.dim, dim]));
  const b = variable(tf.zeros([dim]));
  const classW = variable(tf.tensor2d(glorot(dim, names.length, dim * names.length), [dim, names.length]));
  const xAll = tf.tensor2d(feats.x, [n, feats.dim]);
  const optimizer = tf.train.adam(3e-3);
  const history: EpochProgress[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      if (opts.signal?.aborted) throw new BackboneError('head training was aborted');
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let lossSum = 0;
      let correct = 0;
      for (let s = 0; s < n; s += 32) {
        const idx = order.slice(s, s + 32);
        const labels = idx.map((k) => feats.y[k] as number);
        const xb = tf.gather(xAll, tf.tensor1d(idx, 'int32'));
        const yb = tf.oneHot(tf.tensor1d(labels, 'int32'), names.length).toFloat();
        const loss = optimizer.minimize(
          () => {
            const e = l2n(tf, tf.add(tf.matMul(xb, w), b), 1);
            const cos = tf.matMul(e, l2n(tf, classW, 0));
            const pred = tf.argMax(cos, 1).dataSync();
            correct += labels.filter((l, j) => pred[j] === l).length;
            return tf.losses.softmaxCrossEntropy(yb, tf.mul(tf.sub(cos, tf.mul(yb, margin)), scale)) as TfModule.Scalar;
          },
          true,
          [w, b, classW],
        );
        lossSum += (loss?.dataSync()[0] ?? 0) * idx.length;
        tf.dispose([xb, yb]);
        loss?.dispose();
      }
      const p = { epoch, loss: lossSum / n, accuracy: correct / n };
      history.push(p);
      opts.onProgress?.(p);
    }
    const head = { weights: w.dataSync() as Float32Array, bias: b.dataSync() as Float32Array, dim };
    const outputName = opts.outputName ?? (opts.backbonePreprocess.outputName === 'embedding' ? 'head_embedding' : 'embedding');
    const onnx = appendHead(opts.backboneOnnx, opts.backbonePreprocess.outputName, head, feats.dim, outputName);
    return {
      onnx,
      preprocess: { ...opts.backbonePreprocess, outputName },
      backend: rt.backend,
      epochs,
      history,
      seconds: (performance.now() - started) / 1000,
      featureDim: feats.dim,
      head: { ...head, weights: Float32Array.from(head.weights), bias: Float32Array.from(head.bias) },
    };
  } finally {
    tf.dispose([w, b, classW, xAll]);
    optimizer.dispose();
  }
}

function field(tag: number, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32(tag).bytes(bytes).finish();
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Copies every field of the model; in the graph, drops the outputs and appends the head. */
export function appendHead(model: Uint8Array, featureName: string, head: { weights: Float32Array; bias: Float32Array; dim: number }, featDim: number, outputName: string): Uint8Array {
  const root = loadOnnxRoot();
  const chunks: Uint8Array[] = [];
  let graphs = 0;
  const r = protobuf.Reader.create(model);
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 === 7 && (tag & 7) === 2) {
      graphs++;
      chunks.push(field(tag, rewriteGraph(r.bytes(), featureName, head, featDim, outputName, root)));
    } else {
      r.skipType(tag & 7);
      chunks.push(model.subarray(start, r.pos));
    }
  }
  if (graphs !== 1) throw new BackboneError(`backbone has ${graphs} graphs, expected 1`);
  return concat(chunks);
}

const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_OUTPUT = 12;

function rewriteGraph(graph: Uint8Array, featureName: string, head: { weights: Float32Array; bias: Float32Array; dim: number }, featDim: number, outputName: string, root: protobuf.Root): Uint8Array {
  const Node = root.lookupType('onnx.NodeProto');
  const Tensor = root.lookupType('onnx.TensorProto');
  const ValueInfo = root.lookupType('onnx.ValueInfoProto');
  const names = new Set<string>();
  const outputs: string[] = [];
  const chunks: Uint8Array[] = [];
  const r = protobuf.Reader.create(graph);
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const no = tag >>> 3;
    if ((tag & 7) === 2 && (no === GRAPH_NODE || no === GRAPH_INITIALIZER || no === GRAPH_OUTPUT)) {
      const bytes = r.bytes();
      if (no === GRAPH_NODE) {
        const n = Node.toObject(Node.decode(bytes)) as { output?: string[]; name?: string };
        for (const o of n.output ?? []) names.add(o);
        if (n.name) names.add(n.name);
      } else if (no === GRAPH_INITIALIZER) {
        names.add(String((Tensor.toObject(Tensor.decode(bytes)) as { name?: string }).name ?? ''));
      } else {
        outputs.push(String((ValueInfo.toObject(ValueInfo.decode(bytes)) as { name?: string }).name ?? ''));
        continue; // outputs are replaced
      }
    } else r.skipType(tag & 7);
    chunks.push(graph.subarray(start, r.pos));
  }
  if (!outputs.includes(featureName)) throw new BackboneError(`backbone has outputs [${outputs.join(', ')}], not '${featureName}'`);
  const fresh = (base: string): string => {
    let name = base;
    for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
    names.add(name);
    return name;
  };
  if (names.has(outputName)) throw new BackboneError(`output name '${outputName}' is already a tensor of the backbone`);
  names.add(outputName);
  const wName = fresh('edgeloop_head/weights');
  const bName = fresh('edgeloop_head/bias');
  const t = [fresh('edgeloop_head/flat'), fresh('edgeloop_head/matmul'), fresh('edgeloop_head/add'), fresh('edgeloop_head/l2')];
  const inits = [
    tensorToProto({ name: wName, dims: [featDim, head.dim], data: head.weights }),
    tensorToProto({ name: bName, dims: [head.dim], data: head.bias }),
  ];
  for (const init of inits) chunks.push(field((GRAPH_INITIALIZER << 3) | 2, Tensor.encode(Tensor.fromObject(init)).finish()));
  const int = (name: string, i: number): Record<string, unknown> => ({ name, type: 2, i });
  const nodes = [
    { op_type: 'Flatten', input: [featureName], output: [t[0]], attribute: [int('axis', 1)] },
    { op_type: 'MatMul', input: [t[0], wName], output: [t[1]], attribute: [] },
    { op_type: 'Add', input: [t[1], bName], output: [t[2]], attribute: [] },
    { op_type: 'LpNormalization', input: [t[2]], output: [t[3]], attribute: [int('axis', 1), int('p', 2)] },
    { op_type: 'Identity', input: [t[3]], output: [outputName], attribute: [] },
  ];
  for (const node of nodes) {
    const msg = { ...node, name: fresh(`edgeloop_head/${node.op_type}`), domain: '' };
    chunks.push(field((GRAPH_NODE << 3) | 2, Node.encode(Node.fromObject(msg)).finish()));
  }
  const out = {
    name: outputName,
    type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'batch' }, { dim_value: head.dim }] } } },
  };
  chunks.push(field((GRAPH_OUTPUT << 3) | 2, ValueInfo.encode(ValueInfo.fromObject(out)).finish()));
  return concat(chunks);
}
