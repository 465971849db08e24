/**
 * Exports a trained tfjs LayersModel (a Sequential model or a branch-free functional chain) to an
 * ONNX graph that onnxruntime evaluates to the same outputs.
 *
 * tfjs runs NHWC; the ONNX graph takes NCHW input [batch, C, H, W] (what our preprocessing
 * produces) and stays NCHW throughout: conv kernels HWIO → OIHW, batch-norm / softmax act on axis
 * 1, and a Flatten of a tensor with spatial extent > 1x1 is preceded by Transpose NCHW → NHWC so
 * the flattened order (and therefore every following Dense weight) matches tfjs. 'same' padding
 * maps to auto_pad SAME_UPPER (extra padding at the bottom/right, like TF).
 *
 * Supported layers: Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
 * GlobalMaxPooling2D, Flatten, Dense, Dropout (and other inference-time identities),
 * BatchNormalization (folded into a directly preceding linear Conv2D/Dense, else Mul + Add),
 * Activation, ReLU, LeakyReLU, Softmax. Activations: linear, relu, relu6, sigmoid, tanh, softmax,
 * elu, softplus, softsign. Anything else throws UnsupportedModelError naming the layer.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { conv2d, dense, flatten, maxPool, type Pads } from '../onnx/layers.js';
import { DEFAULT_OPSET, OnnxGraphBuilder, type Attrs, type Dim } from '../onnx/onnx-writer.js';
import {
  batchNormAffine,
  type ChainStep,
  type ChannelAffine,
  cfgBool,
  cfgNum,
  cfgPair,
  cfgStr,
  foldAffine,
  layerChain,
  layerWeights,
  requireChannelsLast,
  UnsupportedModelError,
  unsupported,
} from './tfjs-layers.js';

export { UnsupportedModelError } from './tfjs-layers.js';

export interface ExportOptions {
  /** Graph input name (default 'input'); input shape is ['batch', C, H, W]. */
  inputName?: string;
  /** Graph output name (default 'output'). */
  outputName?: string;
  /** Append LpNormalization(p=2, axis=1) to the (2-D) output, e.g. for embedders. */
  l2Normalize?: boolean;
  /** ONNX opset (default and minimum 13). */
  opset?: number;
  docString?: string;
  metadata?: Record<string, string>;
}

/** Layers that are the identity at inference time. */
const IDENTITY_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

const SUPPORTED_LAYERS = new Set([
  ...IDENTITY_LAYERS,
  ...['Conv2D', 'MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Flatten'],
  ...['Dense', 'BatchNormalization', 'Activation', 'ReLU', 'LeakyReLU', 'Softmax'],
]);
const SUPPORTED = [...SUPPORTED_LAYERS].join(', ');

/** Mutable export state: the current ONNX tensor and its rank (2: [N, D], 4: [N, C, H, W]). */
interface Cursor {
  g: OnnxGraphBuilder;
  x: string;
  rank: number;
}

function op(c: Cursor, type: string, prefix: string, attrs: Attrs = {}, extraInputs: string[] = []): void {
  const name = c.g.uniqueName(prefix);
  const y = `${name}.out`;
  c.g.node(type, [c.x, ...extraInputs], [y], attrs, name);
  c.x = y;
}

function scalar(c: Cursor, prefix: string, v: number): string {
  return c.g.initializer({ name: c.g.uniqueName(prefix), dims: [], data: new Float32Array([v]) });
}

/** Channel axis in the ONNX layout: 1 for both [N, D] and NCHW [N, C, H, W]. */
const CHANNEL_AXIS = 1;

/** Activations that map to a single attribute-free ONNX op. */
const UNARY_ACTIVATIONS: Record<string, string> = {
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  softplus: 'Softplus',
  softsign: 'Softsign',
};

function applyActivation(c: Cursor, step: ChainStep, activation: string): void {
  const p = `${step.layer.name}.${activation}`;
  const unary = UNARY_ACTIVATIONS[activation];
  if (activation === 'linear') return;
  if (unary !== undefined) op(c, unary, p);
  else if (activation === 'relu6') op(c, 'Clip', p, {}, [scalar(c, `${p}.min`, 0), scalar(c, `${p}.max`, 6)]);
  else if (activation === 'elu') op(c, 'Elu', p, { alpha: { f: 1 } });
  else if (activation === 'softmax') op(c, 'Softmax', p, { axis: CHANNEL_AXIS });
  else {
    unsupported(step, `activation '${activation}' (supported: linear, relu, relu6, sigmoid, tanh, softmax, elu, softplus, softsign)`);
  }
}

function padding(step: ChainStep): Pads {
  const p = cfgStr(step, 'padding', 'valid');
  if (p !== 'same' && p !== 'valid') unsupported(step, `padding '${p}' (only 'same' and 'valid' are supported)`);
  return p;
}

/** A BatchNormalization over the channel axis (the last axis in tfjs) of a rank-`rank` input. */
function isChannelBatchNorm(step: ChainStep | undefined): step is ChainStep {
  if (step?.className !== 'BatchNormalization') return false;
  const axis = cfgNum(step, 'axis', -1);
  const rank = step.inShape.length;
  return axis === -1 || axis === rank - 1;
}

function requireRank(c: Cursor, step: ChainStep, rank: number): void {
  if (c.rank !== rank) unsupported(step, `expects a rank-${rank} input, got rank ${c.rank}`);
}

/** Kernel (last axis = output channels) and bias of a Conv2D/Dense, with a following BN folded in. */
function kernelAndBias(step: ChainStep, fold: ChannelAffine | undefined): { kernel: Float32Array; bias?: Float32Array; kshape: number[] } {
  const useBias = cfgBool(step, 'useBias', true);
  const ws = layerWeights(step);
  const k = ws[0];
  if (k === undefined || ws.length !== (useBias ? 2 : 1)) unsupported(step, `unexpected weight count ${ws.length}`);
  const bias = useBias ? ws[1]?.data : undefined;
  if (fold === undefined) return { kernel: k.data, bias, kshape: k.shape };
  return { ...foldAffine(k.data, bias, fold), kshape: k.shape };
}

/** Emits one step; returns how many steps it consumed (2 when a following batch norm was folded). */
function emit(c: Cursor, step: ChainStep, next: ChainStep | undefined): number {
  const name = step.layer.name;
  if (IDENTITY_LAYERS.has(step.className)) return 1;
  switch (step.className) {
    case 'Conv2D':
    case 'Dense': {
      const isConv = step.className === 'Conv2D';
      requireRank(c, step, isConv ? 4 : 2);
      if (isConv) requireChannelsLast(step);
      const activation = cfgStr(step, 'activation', 'linear');
      const fold = activation === 'linear' && isChannelBatchNorm(next) ? batchNormAffine(next) : undefined;
      const { kernel, bias, kshape } = kernelAndBias(step, fold);
      if (isConv) {
        const [kh, kw, cin, cout] = kshape as [number, number, number, number];
        const x = conv2d(c.g, c.x, {
          inChannels: cin,
          filters: cout,
          kernel: [kh, kw],
          weights: kernel,
          layout: 'hwio',
          bias,
          strides: cfgPair(step, 'strides', [1, 1]),
          dilations: cfgPair(step, 'dilationRate', [1, 1]),
          pads: padding(step),
          name,
        });
        c.x = x;
      } else {
        const [inDim, outDim] = kshape as [number, number];
        c.x = dense(c.g, c.x, { inDim, outDim, weights: kernel, bias, name });
      }
      applyActivation(c, step, activation);
      return fold === undefined ? 1 : 2;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      requireRank(c, step, 4);
      requireChannelsLast(step);
      const kernel = cfgPair(step, 'poolSize', [2, 2]);
      const strides = cfgPair(step, 'strides', kernel);
      const pads = padding(step);
      if (step.className === 'MaxPooling2D') {
        c.x = maxPool(c.g, c.x, { kernel, strides, pads, name });
      } else {
        // count_include_pad=0 (ONNX default) matches TF: padded cells are not averaged in.
        op(c, 'AveragePool', name, { kernel_shape: kernel, strides, auto_pad: pads === 'same' ? 'SAME_UPPER' : undefined });
      }
      return 1;
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      requireRank(c, step, 4);
      requireChannelsLast(step);
      if (cfgBool(step, 'keepDims', false)) unsupported(step, 'keepDims=true');
      op(c, step.className === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', name);
      c.x = flatten(c.g, c.x, 1, `${name}.flatten`);
      c.rank = 2;
      return 1;
    }
    case 'Flatten': {
      if (c.rank === 2) return 1;
      requireRank(c, step, 4);
      requireChannelsLast(step);
      const [, h, w] = step.inShape;
      // tfjs flattens NHWC; match its element order unless the spatial extent is 1x1.
      if (h !== 1 || w !== 1) op(c, 'Transpose', `${name}.to_nhwc`, { perm: [0, 2, 3, 1] });
      c.x = flatten(c.g, c.x, 1, name);
      c.rank = 2;
      return 1;
    }
    case 'BatchNormalization': {
      if (!isChannelBatchNorm(step)) unsupported(step, `axis ${cfgNum(step, 'axis', -1)} (only the channel axis -1 is supported)`);
      if (c.rank !== 2 && c.rank !== 4) unsupported(step, `rank-${c.rank} input`);
      const { scale, shift } = batchNormAffine(step);
      const dims = c.rank === 4 ? [scale.length, 1, 1] : [scale.length];
      const s = c.g.initializer({ name: c.g.uniqueName(`${name}.scale`), dims, data: scale });
      const b = c.g.initializer({ name: c.g.uniqueName(`${name}.shift`), dims, data: shift });
      op(c, 'Mul', `${name}.mul`, {}, [s]);
      op(c, 'Add', `${name}.add`, {}, [b]);
      return 1;
    }
    case 'Activation':
      applyActivation(c, step, cfgStr(step, 'activation'));
      return 1;
    case 'ReLU': {
      const max = step.config.maxValue;
      if (max === undefined || max === null) op(c, 'Relu', name);
      else if (typeof max === 'number') op(c, 'Clip', name, {}, [scalar(c, `${name}.min`, 0), scalar(c, `${name}.max`, max)]);
      else unsupported(step, `maxValue ${JSON.stringify(max)}`);
      return 1;
    }
    case 'LeakyReLU':
      op(c, 'LeakyRelu', name, { alpha: { f: cfgNum(step, 'alpha', 0.3) } });
      return 1;
    case 'Softmax': {
      const axis = step.config.axis;
      const last = step.inShape.length - 1;
      if (!(axis === undefined || axis === -1 || axis === last || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === last)))) {
        unsupported(step, `axis ${JSON.stringify(axis)} (only the last axis is supported)`);
      }
      op(c, 'Softmax', name, { axis: CHANNEL_AXIS });
      return 1;
    }
    default:
      return unsupported(step, `layer type not supported (supported: ${SUPPORTED})`);
  }
}

/**
 * Converts `model` to ONNX protobuf bytes. Input: `[batch, C, H, W]` float (NCHW); output: the
 * model's output, `[batch, D]` for 2-D outputs (4-D outputs are NCHW).
 */
export function exportLayersModel(model: LayersModel, opts: ExportOptions = {}): Uint8Array {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (opset < 13) throw new UnsupportedModelError(`opset ${opset} is not supported (minimum 13)`);
  const { input, steps } = layerChain(model);
  const bad = steps.find((s) => !SUPPORTED_LAYERS.has(s.className));
  if (bad) unsupported(bad, `layer type not supported (supported: ${SUPPORTED})`);
  const shape = input.shape;
  if (shape.length !== 4 && shape.length !== 2) {
    throw new UnsupportedModelError(`cannot export model '${model.name}': input shape [${shape.join(', ')}] (expected [batch, H, W, C] or [batch, D])`);
  }
  const g = new OnnxGraphBuilder(model.name);
  const inDims: Dim[] = shape.length === 4 ? ['batch', shape[3] ?? null, shape[1] ?? null, shape[2] ?? null] : ['batch', shape[1] ?? null];
  const c: Cursor = { g, x: g.input(opts.inputName ?? 'input', inDims), rank: shape.length };
  for (let i = 0; i < steps.length; ) {
    const step = steps[i] as ChainStep;
    i += emit(c, step, steps[i + 1]);
    const last = steps[i - 1] as ChainStep;
    if (c.rank !== last.outShape.length) unsupported(last, `internal: rank ${c.rank} does not match tfjs output rank ${last.outShape.length}`);
  }
  const outShape = (steps[steps.length - 1]?.outShape ?? shape).map((d) => d ?? null);
  if (opts.l2Normalize) {
    if (c.rank !== 2) throw new UnsupportedModelError(`l2Normalize needs a 2-D model output, got rank ${c.rank}`);
    op(c, 'LpNormalization', 'l2norm', { axis: 1, p: 2 });
  }
  const outputName = opts.outputName ?? 'output';
  g.node('Identity', [c.x], [outputName]);
  const outDims: Dim[] = c.rank === 4 ? ['batch', outShape[3] ?? null, outShape[1] ?? null, outShape[2] ?? null] : ['batch', ...outShape.slice(1)];
  g.output(outputName, outDims);
  return g.toBytes({ opset, docString: opts.docString, metadata: opts.metadata, producer: 'edgeloop-hub tfjs export' });
}
