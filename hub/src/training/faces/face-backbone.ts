/** The face embedder's backbone: the part that is exported to ONNX and runs on the doors. */
import type { PreprocessSpec } from '@edgeloop/shared';
import type * as TfModule from '@tensorflow/tfjs';
import type { TfRuntime } from '../tfjs/backend.js';

type Tf = TfRuntime['tf'];

export class FaceTrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaceTrainingError';
  }
}

/** The exported part: conv blocks → flatten → dense embedding (+ batch norm). Fixed layer names keep the ONNX bytes reproducible. */
export function buildFaceBackbone(tf: Tf, spec: PreprocessSpec, filters: readonly number[], dim: number, seed: number): TfModule.Sequential {
  const model = tf.sequential({ name: 'face_embedder' });
  let s = seed;
  const init = (): ReturnType<Tf['initializers']['heNormal']> => tf.initializers.heNormal({ seed: s++ });
  filters.forEach((f, i) => {
    model.add(
      tf.layers.conv2d({
        ...(i === 0 ? { inputShape: [spec.height, spec.width, 1] } : {}),
        name: `conv${i + 1}`,
        filters: f,
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        kernelInitializer: init(),
      }),
    );
    model.add(tf.layers.batchNormalization({ name: `bn${i + 1}`, momentum: 0.9 }));
    model.add(tf.layers.activation({ name: `relu${i + 1}`, activation: 'relu' }));
    if (i < filters.length - 1) model.add(tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2, strides: 2, padding: 'same' }));
  });
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(tf.layers.dense({ name: 'embedding', units: dim, useBias: false, kernelInitializer: tf.initializers.glorotNormal({ seed: s++ }) }));
  model.add(tf.layers.batchNormalization({ name: 'embedding_bn', momentum: 0.9 }));
  return model;
}
