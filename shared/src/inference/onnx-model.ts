import * as ort from 'onnxruntime-node';
import type { PreprocessSpec } from '../contracts/manifest.js';
import { EdgeloopError } from '../errors.js';
import { preprocessImage } from '../image/preprocess.js';

export interface OnnxModelOptions {
  intraOpThreads?: number;
}

/** One loaded network plus its preprocessing: image → output vector. Shared by agent and hub sandbox. */
export class OnnxModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: PreprocessSpec,
  ) {}

  static async load(bytes: Uint8Array, spec: PreprocessSpec, opts: OnnxModelOptions = {}): Promise<OnnxModel> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: opts.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new EdgeloopError('model-load', `onnxruntime could not load the network: ${(err as Error).message}`);
    }
    if (!session.inputNames.includes(spec.inputName) || !session.outputNames.includes(spec.outputName)) {
      await session.release();
      throw new EdgeloopError(
        'model-load',
        `network has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}], manifest expects ${spec.inputName} → ${spec.outputName}`,
      );
    }
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
