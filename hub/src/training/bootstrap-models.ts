import type { ModelType, PreprocessSpec } from '@edgeloop/shared';
import { conv2d, dense, flatten, globalAveragePool, l2Normalize, maxPool, relu, softmax } from './onnx/layers.js';
import { OnnxGraphBuilder } from './onnx/onnx-writer.js';
import { heUniform, seededRandom } from './seeded-random.js';

export interface BootstrapModel {
  modelType: ModelType;
  onnx: Uint8Array;
  preprocess: PreprocessSpec;
  labels: string[];
}

const INPUT = 'input';
const OUTPUT = 'output';

/**
 * A first, untrained network for a model type, so that a fresh hub has something to sign and ship
 * before any data exists (the walking skeleton). Training replaces it with learned weights.
 */
export function buildBootstrapModel(modelType: ModelType, seed = 1, opts: { paddingBytes?: number } = {}): BootstrapModel {
  const rand = seededRandom(seed);
  const channels = modelType === 'face' ? 1 : 3;
  const size = 64;
  const g = new OnnxGraphBuilder(`edgeloop-${modelType}-bootstrap`);
  let x = g.input(INPUT, ['batch', channels, size, size]);
  x = relu(g, conv2d(g, x, { inChannels: channels, filters: 8, kernel: 3, pads: 1, weights: heUniform(rand, 8 * channels * 9, channels * 9), bias: new Float32Array(8) }));
  x = maxPool(g, x, { kernel: 2 });
  x = relu(g, conv2d(g, x, { inChannels: 8, filters: 16, kernel: 3, pads: 1, weights: heUniform(rand, 16 * 8 * 9, 8 * 9), bias: new Float32Array(16) }));
  x = flatten(g, globalAveragePool(g, x));
  const outDim = modelType === 'face' ? 32 : 2;
  x = dense(g, x, { inDim: 16, outDim, weights: heUniform(rand, 16 * outDim, 16), bias: new Float32Array(outDim) });
  x = modelType === 'face' ? l2Normalize(g, x) : softmax(g, x);
  if (opts.paddingBytes) {
    // Extra weights that feed the output multiplied by zero: a bigger file that computes the same.
    const n = Math.ceil(opts.paddingBytes / 4);
    const pad = g.initializer({ name: 'padding', dims: [n], data: heUniform(rand, n, 1) });
    const zero = g.initializer({ name: 'padding_scale', dims: [1], data: new Float32Array([0]) });
    const s = g.uniqueName('padding_sum');
    g.node('ReduceSum', [pad], [s], { keepdims: 1 });
    const z = g.uniqueName('padding_zero');
    g.node('Mul', [s, zero], [z]);
    const y = g.uniqueName('padded');
    g.node('Add', [x, z], [y]);
    x = y;
  }
  g.node('Identity', [x], [OUTPUT]);
  g.output(OUTPUT, ['batch', outDim]);
  return {
    modelType,
    onnx: g.toBytes({ docString: `bootstrap ${modelType} network`, metadata: { modelType } }),
    preprocess: {
      width: size,
      height: size,
      channels,
      mean: channels === 1 ? [0.5] : [0.5, 0.5, 0.5],
      std: channels === 1 ? [0.25] : [0.25, 0.25, 0.25],
      inputName: INPUT,
      outputName: OUTPUT,
    },
    labels: modelType === 'laundry' ? ['good', 'defect'] : [],
  };
}
