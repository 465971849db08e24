import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cropFace, FaceGallery, faceTensor, resample, ValidationError } from '../src/index.js';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('FaceGallery', () => {
  test('a member scores by their closest template; the runner-up is reported', () => {
    const g = FaceGallery.fromEntries([
      { memberId: 'ann', embeddings: [v(1, 0, 0), v(0, 1, 0)] },
      { memberId: 'bob', embeddings: [v(0.6, 0.8, 0)] },
      { memberId: 'cy', embeddings: [v(0, 0, 1)] },
    ]);
    assert.equal(g.size, 3);
    const m = g.match(v(0, 2, 0)); // not unit length: normalised before matching
    assert.equal(m?.memberId, 'ann');
    assert.ok(Math.abs((m?.score ?? 0) - 1) < 1e-6);
    assert.ok(Math.abs((m?.secondScore ?? 0) - 0.8) < 1e-6);
    assert.equal(g.match(v(0, 0, -1))?.memberId, 'ann'); // best of bad matches: the threshold decides
  });

  test('encode → decode keeps members, order and scores', () => {
    const g = FaceGallery.fromEntries([
      { memberId: 'm-1', embeddings: [v(1, 2, 3, 4), v(-1, 0, 2, 1)] },
      { memberId: 'm-2', embeddings: [v(0, 0, 1, 0)] },
    ]);
    const d = FaceGallery.decode(g.encode());
    assert.deepEqual(d.memberIds(), ['m-1', 'm-2']);
    assert.equal(d.dim, 4);
    const q = v(0.5, 0.1, 0.9, 0.2);
    assert.deepEqual(d.match(q), g.match(q));
  });

  test('entries() gives back every member with their templates, to build the next gallery from', () => {
    const g = FaceGallery.fromEntries([
      { memberId: 'a', embeddings: [v(3, 4), v(0, 2)] },
      { memberId: 'b', embeddings: [v(1, 0)] },
    ]);
    const e = g.entries();
    assert.deepEqual(
      e.map((x) => [x.memberId, x.embeddings.map((t) => Array.from(t))]),
      [
        ['a', [[0.6000000238418579, 0.800000011920929], [0, 1]]],
        ['b', [[1, 0]]],
      ],
    );
    const next = FaceGallery.fromEntries(e.filter((x) => x.memberId !== 'a'));
    assert.deepEqual(next.memberIds(), ['b']);
    assert.equal(g.size, 2, 'the source gallery is unchanged');
  });

  test('an empty gallery matches nobody', () => {
    const g = FaceGallery.decode(FaceGallery.empty(8).encode());
    assert.equal(g.size, 0);
    assert.equal(g.match(new Float32Array(8).fill(1)), null);
  });

  test('bad templates, ids and files are ValidationErrors', () => {
    assert.throws(() => FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(1, 0), v(1, 0, 0)] }]), ValidationError);
    assert.throws(() => FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(0, 0)] }]), ValidationError);
    assert.throws(() => FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(Number.NaN, 1)] }]), ValidationError);
    assert.throws(() => FaceGallery.fromEntries([{ memberId: '../x', embeddings: [v(1, 0)] }]), ValidationError);
    assert.throws(() => FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(1, 0)] }, { memberId: 'a', embeddings: [v(0, 1)] }]), ValidationError);
    const good = FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(1, 0)] }]).encode();
    assert.throws(() => FaceGallery.decode(good.subarray(0, good.length - 1)), ValidationError);
    assert.throws(() => FaceGallery.decode(Buffer.from('not a gallery at all')), ValidationError);
    const corrupt = Buffer.from(good);
    corrupt.writeUInt32LE(10_000, 8);
    assert.throws(() => FaceGallery.decode(corrupt), ValidationError);
    assert.throws(() => FaceGallery.fromEntries([{ memberId: 'a', embeddings: [v(1, 0)] }]).match(v(1, 0, 0)), ValidationError);
  });
});

describe('face crops', () => {
  test('cropFace scales the box region (enlarged by the crop spec) to the output size', () => {
    // 40×40 frame: a bright 10×10 square at (15, 15) on black.
    const data = new Uint8Array(40 * 40);
    for (let y = 15; y < 25; y++) for (let x = 15; x < 25; x++) data[y * 40 + x] = 200;
    const crop = cropFace({ data, width: 40, height: 40 }, { x: 15, y: 15, width: 10, height: 10, score: 1 }, { scaleX: 2, scaleY: 2, shiftY: 0 }, { width: 20, height: 20 });
    assert.equal(crop.data.length, 400);
    // The square fills the middle half of the crop; the border is black.
    assert.equal(crop.data[10 * 20 + 10], 200);
    assert.equal(crop.data[2 * 20 + 2], 0);
    assert.equal(crop.data[17 * 20 + 17], 0);
  });

  test('resample outside the frame repeats the edge; faceTensor repeats grey for RGB networks', () => {
    const img = { data: Uint8Array.from([10, 20, 30, 40]), width: 2, height: 2 };
    const out = resample(img, -2, -2, 6, 6, 6, 6);
    assert.equal(out.data[0], 10);
    assert.equal(out.data[35], 40);
    const spec = { width: 2, height: 2, channels: 3 as const, mean: [0], std: [1], inputName: 'i', outputName: 'o' };
    const t = faceTensor(img, spec);
    assert.equal(t.length, 12);
    assert.ok(Math.abs((t[4] as number) - 10 / 255) < 1e-6 && Math.abs((t[8] as number) - 10 / 255) < 1e-6);
    assert.throws(() => faceTensor(img, { ...spec, width: 3 }), ValidationError);
    assert.throws(() => cropFace({ data: new Uint8Array(3), width: 2, height: 2 }, { x: 0, y: 0, width: 1, height: 1, score: 1 }, { scaleX: 1, scaleY: 1, shiftY: 0 }, { width: 2, height: 2 }), ValidationError);
  });
});

describe('FaceGallery.match on a large gallery', () => {
  test('same best member, score and runner-up as a plain scan over every template', () => {
    let seed = 7;
    const rnd = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32 - 0.5;
    };
    const dims = [128, 131]; // a multiple of 4 and one with a remainder
    for (const dim of dims) {
      const entries = Array.from({ length: 2000 }, (_, k) => ({
        memberId: `m${k}`,
        embeddings: Array.from({ length: 1 + (k % 3) }, () => Float32Array.from({ length: dim }, rnd)),
      }));
      const g = FaceGallery.fromEntries(entries);
      const unit = (x: Float32Array) => {
        const n = Math.sqrt(x.reduce((s, y) => s + y * y, 0));
        return x.map((y) => y / n);
      };
      const templates = entries.map((e) => e.embeddings.map(unit));
      for (let trial = 0; trial < 4; trial++) {
        // Near one member's template (a clear match) and, on odd trials, plain noise.
        const target = entries[(trial * 997) % entries.length] as (typeof entries)[number];
        const q = Float32Array.from({ length: dim }, (_, j) => (trial % 2 === 0 ? (target.embeddings[0]?.[j] as number) : 0) + rnd() * 0.3);
        const qu = unit(q);
        let best = -Infinity;
        let bestIdx = -1;
        let second = -Infinity;
        templates.forEach((ts, k) => {
          const s = Math.max(...ts.map((t) => t.reduce((acc, x, j) => acc + x * (qu[j] as number), 0)));
          if (s > best) {
            second = best;
            best = s;
            bestIdx = k;
          } else if (s > second) second = s;
        });
        const m = g.match(q);
        assert.equal(m?.memberId, entries[bestIdx]?.memberId);
        assert.ok(Math.abs((m?.score ?? 0) - best) < 1e-9, `${m?.score} vs ${best}`);
        assert.ok(Math.abs((m?.secondScore ?? 0) - second) < 1e-9, `${m?.secondScore} vs ${second}`);
        if (trial % 2 === 0) assert.equal(m?.memberId, target.memberId);
      }
    }
  });
});
