import * as ort from 'onnxruntime-node';
import type { PreprocessSpec } from '../contracts/manifest.js';
import { EdgeloopError } from '../errors.js';
import { preprocessImage } from '../image/preprocess.js';

export interface OnnxModelOptions {
  intraOpThreads?: number;
}

/**
 * An onnxruntime session as the device runs it (one intra-op thread unless told otherwise, full
 * graph optimisation), checked to have the input and output its spec names. `what` names it in errors.
 */
export async function openSession(
  bytes: Uint8Array,
  names: { inputName: string; outputName: string },
  what: string,
  opts: OnnxModelOptions = {},
): Promise<ort.InferenceSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: opts.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new EdgeloopError('model-load', `onnxruntime could not load the ${what}: ${(err as Error).message}`);
  }
  if (!session.inputNames.includes(names.inputName) || !session.outputNames.includes(names.outputName)) {
    await session.release();
    throw new EdgeloopError(
      'model-load',
      `${what} has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], its spec expects ${names.inputName} → ${names.outputName}`,
    );
  }
  return session;
}

/** One loaded network plus its preprocessing: image → output vector. Shared by agent and hub sandbox. */
export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: PreprocessSpec,
  ) {}

  static async load(bytes: Uint8Array, spec: PreprocessSpec, opts: OnnxModelOptions = {}): Promise<OnnxModel> {
    const session = await openSession(bytes, spec, 'network', opts);
    return new OnnxModel(session, spec);
  }

  /** Runs a batch of already-preprocessed inputs (each C*H*W floats, concatenated). */
  async runTensor(data: Float32Array, batch = 1): Promise<Float32Array> {
    const { channels, height, width } = this.spec;
    const input = new ort.Tensor('float32', data, [batch, channels, height, width]);
    const out = await this.session.run({ [this.spec.inputName]: input });
    const tensor = out[this.spec.outputName];
    if (!tensor) throw new EdgeloopError('model-output', `network produced no ${this.spec.outputName}`);
    return tensor.data as Float32Array;
  }

  async runImage(image: Buffer | Uint8Array): Promise<Float32Array> {
    return this.runTensor(await preprocessImage(image, this.spec));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
