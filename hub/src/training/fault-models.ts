/**
 * Deliberately faulty laundry networks for testing the edge agent's automatic rollback with real
 * models. Each one is shaped like `buildBootstrapModel('laundry')` (same input/output names and
 * preprocessing) and passes the agent's warm-up (one inference on an all-zero input, finite output),
 * but misbehaves on any real image, i.e. any input that is not all zeros.
 *
 * The trigger is m = ReduceMax(|x|) over the whole input tensor: m = 0 at warm-up, m > 0 in service.
 */
import { type BootstrapModel, buildBootstrapModel } from './bootstrap-models.js';
import { conv2d, dense, flatten, globalAveragePool, maxPool, relu, softmax } from './onnx/layers.js';
import { OnnxGraphBuilder, type TensorInit } from './onnx/onnx-writer.js';
import { heUniform, seededRandom } from './seeded-random.js';

export type FaultKind = 'throws' | 'nan' | 'slow' | 'hang' | 'hog';

const INPUT = 'input';
const OUTPUT = 'output';
const CLASSES = 2;

/** Width of the square matrices in the 'slow' network's MatMul chain. */
const SLOW_WIDTH = 256;
/** Number of [rows × 256] · [256 × 256] MatMuls (+ Tanh) in the 'slow' network's chain. */
const SLOW_DEPTH = 64;
/** Distinct 256×256 weight matrices, reused round-robin along the chain (keeps the file small). */
const SLOW_WEIGHTS = 4;
/** 'hang': a chain this wide and deep takes many seconds per inference, a hang for any caller with a deadline. */
const HANG_WIDTH = 1024;
const HANG_DEPTH = 256;
/** 'hog': the intermediate tensor [HOG_PLANES, 1024, 1024] floats, 1.5 GiB, allocated on every real inference. */
const HOG_PLANES = 384;

/**
 * A laundry-shaped network that passes warm-up on an all-zero input but, on any real image:
 *  - 'throws': onnxruntime raises at run time (Gather from a one-element table at index ceil(max|x|) ≥ 1);
 *  - 'nan':    outputs NaN (logits + 0 · sqrt(-max|x|));
 *  - 'slow':   outputs valid probabilities, but only after a long chain of MatMuls over the input
 *              whose (bounded) result is multiplied by 0 and added to the logits, so onnxruntime
 *              cannot fold it away;
 *  - 'hang':   the same, far wider and deeper: many seconds per inference;
 *  - 'hog':    expands the input to a 1.5 GiB tensor on every inference (memory a sandbox must cap).
 * Weights are deterministic for a given seed.
 */
export function buildFaultModel(kind: FaultKind, seed = 1): BootstrapModel {
  const reference = buildBootstrapModel('laundry', seed);
  const { channels, height, width } = reference.preprocess;
  const rand = seededRandom(seed);
  const g = new OnnxGraphBuilder(`edgeloop-laundry-fault-${kind}`);

  const constant = (prefix: string, t: Omit<TensorInit, 'name'>): string => g.initializer({ ...t, name: g.uniqueName(prefix) });
  const op = (type: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string => {
    const name = g.uniqueName(type.toLowerCase());
    const out = `${name}.out`;
    g.node(type, inputs, [out], attrs, name);
    return out;
  };

  // The same trunk as the bootstrap laundry network.
  const x = g.input(INPUT, ['batch', channels, height, width]);
  let h = relu(g, conv2d(g, x, { inChannels: channels, filters: 8, kernel: 3, pads: 1, weights: heUniform(rand, 8 * channels * 9, channels * 9), bias: new Float32Array(8) }));
  h = maxPool(g, h, { kernel: 2 });
  h = relu(g, conv2d(g, h, { inChannels: 8, filters: 16, kernel: 3, pads: 1, weights: heUniform(rand, 16 * 8 * 9, 8 * 9), bias: new Float32Array(16) }));
  h = flatten(g, globalAveragePool(g, h));
  let logits = dense(g, h, { inDim: 16, outDim: CLASSES, weights: heUniform(rand, 16 * CLASSES, 16), bias: new Float32Array(CLASSES) });

  // Scalar trigger: 0 for an all-zero input, > 0 otherwise. (ReduceMax-13 takes axes as an attribute; none = all axes.)
  const maxAbs = op('ReduceMax', [op('Abs', [x])], { keepdims: 0 });

  if (kind === 'throws') {
    // n = int64(ceil(max|x|)) indexes a one-element table: Gather(table, 0) at warm-up, out of bounds (n ≥ 1) in service.
    // (A data-dependent Reshape of the logits is no good: onnxruntime's basic graph optimisations drop it.)
    const n = op('Cast', [op('Ceil', [maxAbs])], { to: 7 });
    logits = op('Add', [logits, op('Gather', [constant('table', { dims: [1], data: [0] }), n], { axis: 0 })]);
  } else if (kind === 'nan') {
    // sqrt(-0) = -0 at warm-up; sqrt(negative) = NaN in service, and 0 · NaN = NaN.
    logits = op('Add', [logits, op('Mul', [op('Sqrt', [op('Neg', [maxAbs])]), constant('zero', { dims: [], data: [0] })])]);
  } else if (kind === 'hog') {
    // planes = 1 + min(ceil(max|x|), 1) · (HOG_PLANES - 1): 1 at warm-up (4 MiB), HOG_PLANES in service.
    const on = op('Min', [op('Cast', [op('Ceil', [maxAbs])], { to: 7 }), constant('one', { dims: [], data: [1], type: 'int64' })]);
    const planes = op('Add', [op('Mul', [on, constant('extra', { dims: [], data: [HOG_PLANES - 1], type: 'int64' })]), constant('base', { dims: [], data: [1], type: 'int64' })]);
    const shape = op('Concat', [op('Unsqueeze', [planes, constant('axis0', { dims: [1], data: [0], type: 'int64' })]), constant('plane', { dims: [2], data: [1024, 1024], type: 'int64' })], { axis: 0 });
    const big = op('Expand', [op('Tanh', [maxAbs]), shape]);
    const mean = op('ReduceMean', [big], { keepdims: 0 });
    logits = op('Add', [logits, op('Mul', [mean, constant('zero', { dims: [], data: [0] })])]);
  } else {
    const [wide, depth] = kind === 'hang' ? [HANG_WIDTH, HANG_DEPTH] : [SLOW_WIDTH, SLOW_DEPTH];
    // Rows of the input → [rows, width] → widen to SLOW_WIDTH → SLOW_DEPTH × (MatMul + Tanh) → mean → · 0.
    // Tanh keeps every value bounded, so the product with 0 is exactly 0 (never inf · 0 = NaN).
    const rows = op('Reshape', [x, constant('rows_shape', { dims: [2], data: [-1, width], type: 'int64' })]);
    const scale = 1 / Math.sqrt(wide);
    const uniform = (count: number, limit: number): Float32Array => Float32Array.from({ length: count }, () => (rand() * 2 - 1) * limit);
    const widen = constant('slow_in', { dims: [width, wide], data: uniform(width * wide, Math.sqrt(3 / width)) });
    const weights = Array.from({ length: SLOW_WEIGHTS }, () => constant('slow_w', { dims: [wide, wide], data: uniform(wide * wide, Math.sqrt(3) * scale * 1.5) }));
    let y = op('Tanh', [op('MatMul', [rows, widen])]);
    for (let k = 0; k < depth; k++) y = op('Tanh', [op('MatMul', [y, weights[k % SLOW_WEIGHTS] as string])]);
    const mean = op('ReduceMean', [y], { keepdims: 0 });
    logits = op('Add', [logits, op('Mul', [mean, constant('zero', { dims: [], data: [0] })])]);
  }

  g.node('Identity', [softmax(g, logits)], [OUTPUT]);
  g.output(OUTPUT, ['batch', CLASSES]);
  return {
    modelType: 'laundry',
    onnx: g.toBytes({ docString: `faulty laundry network (${kind}) for rollback tests`, metadata: { modelType: 'laundry', fault: kind } }),
    preprocess: { ...reference.preprocess },
    labels: [...reference.labels],
  };
}
