/**
 * Reading a tfjs LayersModel for export: walking it as a single chain, typed access to layer
 * configs, and weight arithmetic (batch-norm folding). No ONNX here; see tfjs-to-onnx.ts.
 */
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';

export type TfLayer = LayersModel['layers'][number];

/** One layer application in the chain, with its (NHWC, tfjs) input and output shapes. */
export interface ChainStep {
  layer: TfLayer;
  className: string;
  config: Record<string, unknown>;
  inShape: (number | null)[];
  outShape: (number | null)[];
}

export class UnsupportedModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

function describe(step: Pick<ChainStep, 'layer' | 'className'>): string {
  return `layer '${step.layer.name}' (${step.className})`;
}

/** Throws an UnsupportedModelError naming the layer. */
export function unsupported(step: Pick<ChainStep, 'layer' | 'className'>, what: string): never {
  throw new UnsupportedModelError(`cannot export ${describe(step)} to ONNX: ${what}`);
}

/**
 * The model's layers as a linear chain from its single input to its single output (Sequential
 * models and functional models without branches). Throws for anything else.
 */
export function layerChain(model: LayersModel): { input: SymbolicTensor; steps: ChainStep[] } {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedModelError(
      `cannot export model '${model.name}' to ONNX: it has ${model.inputs.length} inputs and ${model.outputs.length} outputs (exactly one of each supported)`,
    );
  }
  const input = model.inputs[0] as SymbolicTensor;
  const steps: ChainStep[] = [];
  let t = model.outputs[0] as SymbolicTensor;
  while (t !== input) {
    const layer = t.sourceLayer;
    const className = layer.getClassName();
    if (className === 'InputLayer') {
      throw new UnsupportedModelError(`cannot export model '${model.name}': reached input layer '${layer.name}' that is not the model input`);
    }
    const node = layer.inboundNodes[t.nodeIndex];
    if (node === undefined) unsupported({ layer, className }, `node ${t.nodeIndex} not found`);
    if (node.inputTensors.length !== 1) {
      unsupported({ layer, className }, `it has ${node.inputTensors.length} inputs (only single-input chains are supported)`);
    }
    const prev = node.inputTensors[0] as SymbolicTensor;
    steps.unshift({ layer, className, config: layer.getConfig() as Record<string, unknown>, inShape: prev.shape, outShape: t.shape });
    t = prev;
  }
  return { input, steps };
}

// ---------- typed config access ----------

export function cfgStr(step: ChainStep, key: string, fallback?: string): string {
  const v = step.config[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    unsupported(step, `config '${key}' is missing`);
  }
  if (typeof v !== 'string') unsupported(step, `config '${key}' is not a string (${JSON.stringify(v)})`);
  return v;
}

export function cfgNum(step: ChainStep, key: string, fallback?: number): number {
  const v = step.config[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    unsupported(step, `config '${key}' is missing`);
  }
  if (typeof v !== 'number') unsupported(step, `config '${key}' is not a number (${JSON.stringify(v)})`);
  return v;
}

export function cfgBool(step: ChainStep, key: string, fallback: boolean): boolean {
  const v = step.config[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') unsupported(step, `config '${key}' is not a boolean (${JSON.stringify(v)})`);
  return v;
}

/** A number or a 1-/2-element array → [h, w]. */
export function cfgPair(step: ChainStep, key: string, fallback?: [number, number]): [number, number] {
  const v = step.config[key];
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    unsupported(step, `config '${key}' is missing`);
  }
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && (v.length === 1 || v.length === 2)) {
    const [h, w = h] = v as unknown[];
    if (typeof h === 'number' && typeof w === 'number') return [h, w];
  }
  return unsupported(step, `config '${key}' is not a number or [h, w] pair (${JSON.stringify(v)})`);
}

/** dataFormat must be channelsLast (the tfjs default). */
export function requireChannelsLast(step: ChainStep): void {
  const f = cfgStr(step, 'dataFormat', 'channelsLast');
  if (f !== 'channelsLast') unsupported(step, `dataFormat '${f}' (only 'channelsLast' is supported)`);
}

/** The layer's weights as Float32Arrays with their shapes, in tfjs order. */
export function layerWeights(step: ChainStep): Array<{ data: Float32Array; shape: number[] }> {
  return step.layer.getWeights().map((w) => {
    if (w.dtype !== 'float32') unsupported(step, `weight of dtype ${w.dtype} (only float32 is supported)`);
    return { data: Float32Array.from(w.dataSync() as Float32Array), shape: [...w.shape] };
  });
}

/** Per-channel affine form of an inference-mode batch norm: y = x * scale + shift. */
export interface ChannelAffine {
  scale: Float32Array;
  shift: Float32Array;
}

/** Reads a BatchNormalization layer (gamma if scale, beta if center, moving mean, moving variance). */
export function batchNormAffine(step: ChainStep): ChannelAffine {
  const center = cfgBool(step, 'center', true);
  const scaled = cfgBool(step, 'scale', true);
  const eps = cfgNum(step, 'epsilon', 1e-3);
  const ws = layerWeights(step);
  if (ws.length !== Number(center) + Number(scaled) + 2) unsupported(step, `unexpected weight count ${ws.length}`);
  let k = 0;
  const gamma = scaled ? ws[k++]?.data : undefined;
  const beta = center ? ws[k++]?.data : undefined;
  const mean = ws[k++]?.data;
  const variance = ws[k++]?.data;
  if (mean === undefined || variance === undefined) return unsupported(step, 'moving statistics missing');
  const c = mean.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    // Same order of operations as tfjs batchNorm: (x - mean) * (gamma / sqrt(var + eps)) + beta.
    const s = (gamma?.[i] ?? 1) / Math.sqrt((variance[i] as number) + eps);
    scale[i] = s;
    shift[i] = (beta?.[i] ?? 0) - (mean[i] as number) * s;
  }
  return { scale, shift };
}

/**
 * Folds a per-output-channel affine into a kernel whose last axis is the output channel (conv HWIO
 * or dense [in, out]) and its bias (zero if absent). Returns new arrays.
 */
export function foldAffine(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  affine: ChannelAffine,
): { kernel: Float32Array; bias: Float32Array } {
  const cout = affine.scale.length;
  if (kernel.length % cout !== 0) throw new Error(`foldAffine: kernel size ${kernel.length} not a multiple of ${cout}`);
  const k = new Float32Array(kernel.length);
  for (let j = 0; j < kernel.length; j++) k[j] = (kernel[j] as number) * (affine.scale[j % cout] as number);
  const b = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    b[o] = (bias?.[o] ?? 0) * (affine.scale[o] as number) + (affine.shift[o] as number);
  }
  return { kernel: k, bias: b };
}
