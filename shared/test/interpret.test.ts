import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EdgeloopError, interpretClassifier, normalizeEmbedding } from '../src/index.js';

function assertModelOutputError(err: unknown): true {
  assert.ok(err instanceof EdgeloopError, `expected EdgeloopError, got ${String(err)}`);
  assert.equal(err.code, 'model-output');
  return true;
}

const LABELS = ['cotton', 'wool', 'synthetic'] as const;

describe('interpretClassifier', () => {
  test('picks the label with the highest score and reports its confidence', () => {
    const res = interpretClassifier(new Float32Array([0.1, 0.7, 0.2]), LABELS);
    assert.equal(res.label, 'wool');
    assert.equal(res.confidence, Math.fround(0.7));
  });

  test('the max can be first or last', () => {
    assert.equal(interpretClassifier(new Float32Array([0.9, 0.05, 0.05]), LABELS).label, 'cotton');
    assert.equal(interpretClassifier(new Float32Array([0.05, 0.05, 0.9]), LABELS).label, 'synthetic');
  });

  test('works on raw logits, negative ones included', () => {
    const res = interpretClassifier(new Float32Array([-3, -1, -2]), LABELS);
    assert.equal(res.label, 'wool');
    assert.equal(res.confidence, -1);
  });

  test('on a tie the first label wins', () => {
    assert.equal(interpretClassifier(new Float32Array([0.4, 0.4, 0.2]), LABELS).label, 'cotton');
  });

  test('returns every score by label', () => {
    const res = interpretClassifier(new Float32Array([0.25, 0.5, 0.25]), LABELS);
    assert.deepEqual(res.scores, { cotton: 0.25, wool: 0.5, synthetic: 0.25 });
  });

  test('extra outputs beyond the labels are ignored', () => {
    const res = interpretClassifier(new Float32Array([0.2, 0.3, 0.1, 0.99]), LABELS);
    assert.equal(res.label, 'wool');
    assert.deepEqual(Object.keys(res.scores), [...LABELS]);
  });

  test('throws on NaN or Infinity wherever it appears', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (let pos = 0; pos < 3; pos++) {
        const out = new Float32Array([0.2, 0.3, 0.5]);
        out[pos] = bad;
        assert.throws(() => interpretClassifier(out, LABELS), assertModelOutputError, `${bad} at ${pos}`);
      }
    }
  });

  test('throws when the network produced fewer scores than labels', () => {
    assert.throws(() => interpretClassifier(new Float32Array([0.5, 0.5]), LABELS), assertModelOutputError);
    assert.throws(() => interpretClassifier(new Float32Array([]), LABELS), assertModelOutputError);
  });

  test('throws when there are no labels (there is nothing to pick)', () => {
    assert.throws(() => interpretClassifier(new Float32Array([0.5]), []), assertModelOutputError);
  });
});

describe('normalizeEmbedding', () => {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  test('returns a unit vector in the same direction', () => {
    const out = normalizeEmbedding(new Float32Array([3, 4]));
    assert.ok(out instanceof Float32Array);
    assert.deepEqual([...out], [Math.fround(0.6), Math.fround(0.8)]);
  });

  test('unit norm for an arbitrary vector, signs kept', () => {
    const input = new Float32Array(128).map((_, i) => Math.sin(i + 1) * (i % 3 === 0 ? -5 : 2));
    const out = normalizeEmbedding(input);
    assert.equal(out.length, 128);
    assert.ok(Math.abs(norm(out) - 1) < 1e-5, `norm ${norm(out)}`);
    for (let i = 0; i < 128; i++) assert.equal(Math.sign(out[i] as number), Math.sign(input[i] as number));
  });

  test('does not modify its input', () => {
    const input = new Float32Array([1, 2, 2]);
    normalizeEmbedding(input);
    assert.deepEqual([...input], [1, 2, 2]);
  });

  test('an already-normalised vector stays the same', () => {
    const out = normalizeEmbedding(new Float32Array([0, 1, 0]));
    assert.deepEqual([...out], [0, 1, 0]);
  });

  test('throws on NaN or Infinity', () => {
    assert.throws(() => normalizeEmbedding(new Float32Array([1, Number.NaN, 0])), assertModelOutputError);
    assert.throws(() => normalizeEmbedding(new Float32Array([Number.POSITIVE_INFINITY, 1])), assertModelOutputError);
  });

  test('throws on the zero vector and on an empty output', () => {
    assert.throws(() => normalizeEmbedding(new Float32Array(16)), assertModelOutputError);
    assert.throws(() => normalizeEmbedding(new Float32Array(0)), assertModelOutputError);
  });
});
