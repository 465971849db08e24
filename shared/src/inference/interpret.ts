import { EdgeloopError } from '../errors.js';

export interface Classification {
  label: string;
  confidence: number;
  scores: Record<string, number>;
}

/** Softmax output → label with confidence. Non-finite outputs are an error (a broken model), not a result. */
export function interpretClassifier(output: Float32Array, labels: readonly string[]): Classification {
  if (labels.length === 0) throw new EdgeloopError('model-output', 'classifier has no labels');
  if (output.length < labels.length) throw new EdgeloopError('model-output', `expected ${labels.length} scores, got ${output.length}`);
  let best = 0;
  const scores: Record<string, number> = {};
  for (let i = 0; i < labels.length; i++) {
    const v = output[i] as number;
    if (!Number.isFinite(v)) throw new EdgeloopError('model-output', 'network produced a non-finite score');
    scores[labels[i] as string] = v;
    if (v > (output[best] as number)) best = i;
  }
  return { label: labels[best] as string, confidence: output[best] as number, scores };
}

/** Embedding output → unit vector. */
export function normalizeEmbedding(output: Float32Array): Float32Array {
  let sum = 0;
  for (const v of output) {
    if (!Number.isFinite(v)) throw new EdgeloopError('model-output', 'network produced a non-finite embedding');
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  if (norm === 0) throw new EdgeloopError('model-output', 'network produced a zero embedding');
  return output.map((v) => v / norm);
}
