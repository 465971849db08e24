/**
 * Convenience layer helpers on top of OnnxGraphBuilder. Each helper adds the
 * needed initializers + node(s) and returns the name of its output tensor.
 * Layout is NCHW (ONNX convention).
 */
import type { Attrs, OnnxGraphBuilder } from './onnx-writer.js';

export type Pair = number | [number, number];
/**
 * Spatial padding: a number (all sides), [padH, padW] (symmetric),
 * [top, left, bottom, right] (ONNX order), 'valid' (none) or 'same'
 * (auto_pad=SAME_UPPER, identical to TF/tfjs 'same').
 */
export type Pads = number | [number, number] | [number, number, number, number] | 'same' | 'valid';

type Floats = Float32Array | number[];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

function padAttrs(p: Pads | undefined): Attrs {
  if (p === undefined || p === 'valid') return {};
  if (p === 'same') return { auto_pad: 'SAME_UPPER' };
  if (typeof p === 'number') return { pads: [p, p, p, p] };
  if (p.length === 2) return { pads: [p[0], p[1], p[0], p[1]] };
  return { pads: [...p] };
}

function toF32(name: string, data: Floats, expected: number): Float32Array {
  if (data.length !== expected) throw new Error(`${name}: expected ${expected} values, got ${data.length}`);
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export interface Conv2dOptions {
  inChannels: number;
  filters: number;
  kernel: Pair;
  /** Kernel weights; layout 'oihw' (ONNX, default) or 'hwio' (tfjs), row-major. */
  weights: Floats;
  layout?: 'oihw' | 'hwio';
  bias?: Floats;
  strides?: Pair;
  pads?: Pads;
  dilations?: Pair;
  name?: string;
}

/** Transposes a row-major [kh, kw, in, out] (tfjs) kernel to [out, in, kh, kw] (ONNX). */
export function hwioToOihw(w: Floats, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(kh * kw * cin * cout);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) {
          out[((o * cin + i) * kh + y) * kw + x] = w[((y * kw + x) * cin + i) * cout + o] as number;
        }
  return out;
}

export function conv2d(g: OnnxGraphBuilder, x: string, o: Conv2dOptions): string {
  const p = g.uniqueName(o.name ?? 'conv2d');
  const [kh, kw] = pair(o.kernel);
  const n = o.filters * o.inChannels * kh * kw;
  let w = toF32(`${p}.weight`, o.weights, n);
  if (o.layout === 'hwio') w = hwioToOihw(w, kh, kw, o.inChannels, o.filters);
  const inputs = [x, g.initializer({ name: `${p}.weight`, dims: [o.filters, o.inChannels, kh, kw], data: w })];
  if (o.bias) {
    inputs.push(g.initializer({ name: `${p}.bias`, dims: [o.filters], data: toF32(`${p}.bias`, o.bias, o.filters) }));
  }
  const y = `${p}.out`;
  g.node(
    'Conv',
    inputs,
    [y],
    {
      kernel_shape: [kh, kw],
      strides: pair(o.strides ?? 1),
      dilations: o.dilations === undefined ? undefined : pair(o.dilations),
      ...padAttrs(o.pads),
    },
    p,
  );
  return y;
}

function unary(g: OnnxGraphBuilder, op: string, x: string, prefix: string, attrs: Attrs = {}): string {
  const p = g.uniqueName(prefix);
  const y = `${p}.out`;
  g.node(op, [x], [y], attrs, p);
  return y;
}

export function relu(g: OnnxGraphBuilder, x: string, name?: string): string {
  return unary(g, 'Relu', x, name ?? 'relu');
}

export interface PoolOptions {
  kernel: Pair;
  /** Defaults to the kernel size (tfjs/keras default). */
  strides?: Pair;
  pads?: Pads;
  name?: string;
}

export function maxPool(g: OnnxGraphBuilder, x: string, o: PoolOptions): string {
  return unary(g, 'MaxPool', x, o.name ?? 'maxpool', {
    kernel_shape: pair(o.kernel),
    strides: pair(o.strides ?? o.kernel),
    ...padAttrs(o.pads),
  });
}

export function globalAveragePool(g: OnnxGraphBuilder, x: string, name?: string): string {
  return unary(g, 'GlobalAveragePool', x, name ?? 'gap');
}

/** Flattens to 2-D: [prod(dims[:axis]), prod(dims[axis:])]. */
export function flatten(g: OnnxGraphBuilder, x: string, axis = 1, name?: string): string {
  return unary(g, 'Flatten', x, name ?? 'flatten', { axis });
}

export interface DenseOptions {
  inDim: number;
  outDim: number;
  /** Row-major [inDim, outDim] (tfjs layout); written as Gemm B with transB=0. */
  weights: Floats;
  bias?: Floats;
  name?: string;
}

/** y = x · W + b for a 2-D input [N, inDim]. */
export function dense(g: OnnxGraphBuilder, x: string, o: DenseOptions): string {
  const p = g.uniqueName(o.name ?? 'dense');
  const w = toF32(`${p}.weight`, o.weights, o.inDim * o.outDim);
  const inputs = [x, g.initializer({ name: `${p}.weight`, dims: [o.inDim, o.outDim], data: w })];
  if (o.bias) {
    inputs.push(g.initializer({ name: `${p}.bias`, dims: [o.outDim], data: toF32(`${p}.bias`, o.bias, o.outDim) }));
  }
  const y = `${p}.out`;
  g.node('Gemm', inputs, [y], { transA: 0, transB: 0 }, p);
  return y;
}

export const gemm = dense;

/** Softmax along `axis` (default last; for [N, C] this matches every opset). */
export function softmax(g: OnnxGraphBuilder, x: string, axis = -1, name?: string): string {
  return unary(g, 'Softmax', x, name ?? 'softmax', { axis });
}

/**
 * L2-normalises along `axis` (default 1, i.e. per row of [N, D]) using
 * LpNormalization(p=2). Note: an all-zero row yields NaN (no epsilon).
 */
export function l2Normalize(g: OnnxGraphBuilder, x: string, axis = 1, name?: string): string {
  return unary(g, 'LpNormalization', x, name ?? 'l2norm', { axis, p: 2 });
}
