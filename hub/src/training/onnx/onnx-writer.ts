/**
 * Minimal ONNX model writer: a typed graph builder that serialises to the
 * official ONNX protobuf wire format (via protobufjs + a trimmed onnx.proto).
 *
 * Intended for exporting small inference graphs (CNN / MLP heads) trained in
 * the hub. Tensors are always written as little-endian `raw_data`.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const ONNX_PROTO_PATH = fileURLToPath(new URL('./onnx.proto', import.meta.url));
export const DEFAULT_OPSET = 13;
export const DEFAULT_IR_VERSION = 8;

/** Subset of TensorProto.DataType used by this writer. */
export const OnnxDataType = { FLOAT: 1, INT64: 7 } as const;
export type TensorType = 'float' | 'int64';

/** AttributeProto.AttributeType values. */
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export interface TensorInit {
  name: string;
  dims: number[];
  /** Row-major data. `number[]` is float unless `type: 'int64'`. */
  data: Float32Array | BigInt64Array | number[];
  type?: TensorType;
}

/** A dimension: fixed size, symbolic name (e.g. 'batch'), or null for unknown. */
export type Dim = number | string | null;

/**
 * Attribute values. Plain values are inferred:
 *   integer number → INT, other number → FLOAT, number[] → INTS if all
 *   integers else FLOATS, Float32Array → FLOATS, string → STRING,
 *   string[] → STRINGS.
 * Use the tagged forms (or the `attr.*` helpers) to force a type, e.g.
 * `{ f: 1 }` for FLOAT 1.0 or `{ floats: [1, 2] }` for FLOATS.
 */
export type AttrValue =
  | number
  | number[]
  | string
  | string[]
  | Float32Array
  | { f: number }
  | { i: number }
  | { s: string }
  | { t: TensorInit }
  | { floats: ArrayLike<number> }
  | { ints: number[] }
  | { strings: string[] };

/** `undefined` entries are skipped, which keeps optional layer attributes tidy. */
export type Attrs = Record<string, AttrValue | undefined>;

export const attr = {
  float: (f: number): { f: number } => ({ f }),
  int: (i: number): { i: number } => ({ i }),
  string: (s: string): { s: string } => ({ s }),
  tensor: (t: TensorInit): { t: TensorInit } => ({ t }),
  floats: (floats: ArrayLike<number>): { floats: ArrayLike<number> } => ({ floats }),
  ints: (ints: number[]): { ints: number[] } => ({ ints }),
  strings: (strings: string[]): { strings: string[] } => ({ strings }),
};

export interface ModelOptions {
  opset?: number;
  irVersion?: number;
  producer?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadata?: Record<string, string>;
}

// Plain-object shapes handed to protobufjs (field names as in onnx.proto).
interface TensorMsg {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
interface AttrMsg {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorMsg;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}
interface ValueInfoMsg {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Array<{ dim_value?: number; dim_param?: string }> } } };
}
interface NodeMsg {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttrMsg[];
}

const utf8 = new TextEncoder();

/** Loads the bundled onnx.proto into a fresh protobufjs Root (snake_case field names). */
export function loadOnnxRoot(): protobuf.Root {
  return new protobuf.Root().loadSync(ONNX_PROTO_PATH, { keepCase: true });
}

/** Decodes ONNX model bytes to a plain object (int64 → number, bytes → Uint8Array). For tests/inspection. */
export function decodeOnnxModel(bytes: Uint8Array, root: protobuf.Root = loadOnnxRoot()): Record<string, unknown> {
  const Model = root.lookupType('onnx.ModelProto');
  return Model.toObject(Model.decode(bytes), { longs: Number, enums: Number, defaults: false });
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function tensorToProto(t: TensorInit): TensorMsg {
  if (!t.dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(`tensor ${t.name}: invalid dims [${t.dims.join(',')}]`);
  }
  const type: TensorType = t.type ?? (t.data instanceof BigInt64Array ? 'int64' : 'float');
  const n = product(t.dims);
  if (t.data.length !== n) {
    throw new Error(`tensor ${t.name}: data length ${t.data.length} != product(dims) ${n}`);
  }
  const raw = new Uint8Array(n * (type === 'float' ? 4 : 8));
  const view = new DataView(raw.buffer);
  if (type === 'float') {
    if (t.data instanceof BigInt64Array) throw new Error(`tensor ${t.name}: BigInt64Array data for float tensor`);
    for (let k = 0; k < n; k++) view.setFloat32(k * 4, t.data[k] as number, true);
  } else {
    const data = t.data;
    for (let k = 0; k < n; k++) {
      const v = data[k] as number | bigint;
      if (typeof v === 'number' && !Number.isSafeInteger(v)) {
        throw new Error(`tensor ${t.name}: non-integer ${v} in int64 tensor`);
      }
      view.setBigInt64(k * 8, BigInt(v), true);
    }
  }
  return { name: t.name, dims: [...t.dims], data_type: OnnxDataType[type === 'float' ? 'FLOAT' : 'INT64'], raw_data: raw };
}

function finite(name: string, v: number): number {
  if (!Number.isFinite(v)) throw new Error(`attribute ${name}: non-finite value ${v}`);
  return v;
}

function int(name: string, v: number): number {
  if (!Number.isSafeInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer`);
  return v;
}

export function attrToProto(name: string, v: AttrValue): AttrMsg {
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? { name, type: AttrType.INT, i: int(name, v) }
      : { name, type: AttrType.FLOAT, f: finite(name, v) };
  }
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: utf8.encode(v) };
  if (v instanceof Float32Array) return { name, type: AttrType.FLOATS, floats: Array.from(v) };
  if (Array.isArray(v)) {
    if (v.length > 0 && v.every((x): x is string => typeof x === 'string')) {
      return { name, type: AttrType.STRINGS, strings: v.map((x) => utf8.encode(x)) };
    }
    const nums = v as number[];
    return nums.every((x) => Number.isInteger(x))
      ? { name, type: AttrType.INTS, ints: nums.map((x) => int(name, x)) }
      : { name, type: AttrType.FLOATS, floats: nums.map((x) => finite(name, x)) };
  }
  if ('f' in v) return { name, type: AttrType.FLOAT, f: finite(name, v.f) };
  if ('i' in v) return { name, type: AttrType.INT, i: int(name, v.i) };
  if ('s' in v) return { name, type: AttrType.STRING, s: utf8.encode(v.s) };
  if ('t' in v) return { name, type: AttrType.TENSOR, t: tensorToProto(v.t) };
  if ('floats' in v) return { name, type: AttrType.FLOATS, floats: Array.from(v.floats, (x) => finite(name, x)) };
  if ('ints' in v) return { name, type: AttrType.INTS, ints: v.ints.map((x) => int(name, x)) };
  if ('strings' in v) return { name, type: AttrType.STRINGS, strings: v.strings.map((x) => utf8.encode(x)) };
  throw new Error(`attribute ${name}: unsupported value`);
}

function valueInfo(name: string, dims: Dim[], type: TensorType): ValueInfoMsg {
  const dim = dims.map((d) => {
    if (d === null) return {};
    if (typeof d === 'string') return { dim_param: d };
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`value ${name}: invalid dim ${d}`);
    return { dim_value: d };
  });
  return { name, type: { tensor_type: { elem_type: OnnxDataType[type === 'float' ? 'FLOAT' : 'INT64'], shape: { dim } } } };
}

/**
 * Builds a single ONNX graph. Nodes must be added in topological order: every
 * node input must already be a graph input, an initializer or a node output.
 */
export class OnnxGraphBuilder {
  readonly name: string;
  private readonly inputs: ValueInfoMsg[] = [];
  private readonly outputs: ValueInfoMsg[] = [];
  private readonly initializers: TensorMsg[] = [];
  private readonly nodes: NodeMsg[] = [];
  /** Every tensor name defined so far (inputs, initializers, node outputs). */
  private readonly defined = new Set<string>();
  /** Every name handed out or used (tensors, nodes, reserved prefixes). */
  private readonly used = new Set<string>();
  private root: protobuf.Root | undefined;

  constructor(name: string) {
    this.name = name;
  }

  /** Returns `prefix`, or `prefix_N`, that has not been used yet, and reserves it. */
  uniqueName(prefix: string): string {
    let candidate = prefix;
    for (let k = 1; this.used.has(candidate); k++) candidate = `${prefix}_${k}`;
    this.used.add(candidate);
    return candidate;
  }

  /** True if `name` is a defined tensor (input, initializer or node output). */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  private define(name: string): void {
    if (!name) throw new Error('tensor name must be non-empty');
    if (this.defined.has(name)) throw new Error(`tensor ${name} is already defined`);
    this.defined.add(name);
    this.used.add(name);
  }

  input(name: string, dims: Dim[], type: TensorType = 'float'): string {
    this.define(name);
    this.inputs.push(valueInfo(name, dims, type));
    return name;
  }

  /** Declares a graph output; it must be produced by a node (or be an input/initializer) by `toBytes`. */
  output(name: string, dims: Dim[], type: TensorType = 'float'): string {
    if (this.outputs.some((o) => o.name === name)) throw new Error(`output ${name} declared twice`);
    this.outputs.push(valueInfo(name, dims, type));
    return name;
  }

  initializer(t: TensorInit): string {
    const msg = tensorToProto(t);
    this.define(t.name);
    this.initializers.push(msg);
    return t.name;
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: Attrs = {}, name?: string, domain = ''): void {
    for (const i of inputs) {
      // '' marks an omitted optional input.
      if (i !== '' && !this.defined.has(i)) throw new Error(`${opType}: input ${i} is not defined yet`);
    }
    if (outputs.length === 0) throw new Error(`${opType}: node needs at least one output`);
    const attribute: AttrMsg[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(attrToProto(k, v));
    const nodeName = name ?? this.uniqueName(`${opType}_node`);
    if (name !== undefined) {
      if (this.nodes.some((n) => n.name === name)) throw new Error(`node name ${name} already used`);
      this.used.add(name);
    }
    for (const o of outputs) this.define(o);
    this.nodes.push({ name: nodeName, op_type: opType, domain, input: [...inputs], output: [...outputs], attribute });
  }

  /** Serialises the model to ONNX protobuf bytes. */
  toBytes(opts: ModelOptions = {}): Uint8Array {
    if (this.outputs.length === 0) throw new Error('graph has no outputs');
    for (const o of this.outputs) {
      if (!this.defined.has(o.name)) throw new Error(`output ${o.name} is never produced`);
    }
    this.root ??= loadOnnxRoot();
    const Model = this.root.lookupType('onnx.ModelProto');
    const model = {
      ir_version: opts.irVersion ?? DEFAULT_IR_VERSION,
      opset_import: [{ domain: '', version: opts.opset ?? DEFAULT_OPSET }],
      producer_name: opts.producer ?? 'edgeloop-hub',
      producer_version: opts.producerVersion ?? '',
      domain: opts.domain ?? '',
      model_version: opts.modelVersion ?? 1,
      doc_string: opts.docString ?? '',
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const err = Model.verify(model);
    if (err) throw new Error(`invalid ONNX model: ${err}`);
    return Model.encode(Model.fromObject(model)).finish();
  }
}
