import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LaundryDefect, laundryDataset, laundryImage } from '../../src/training/synthetic/laundry.js';

const S = 96; // smaller than the 224 default to keep the suite fast

test('same seed gives identical bytes, different seeds differ, default size', () => {
  const a = laundryImage({ seed: 1, defect: 'stain' });
  assert.equal(a.width, 224);
  assert.equal(a.height, 224);
  assert.equal(a.pixels.length, 224 * 224 * 3);
  assert.deepEqual(laundryImage({ seed: 1, defect: 'stain' }), a);
  assert.notDeepEqual(laundryImage({ seed: 2, defect: 'stain' }).pixels, a.pixels);
  const b = laundryImage({ seed: 3, defect: 'none', width: 120, height: 80 });
  assert.equal(b.pixels.length, 120 * 80 * 3);
  assert.equal(b.defectBox, null);
  let min = 255;
  let max = 0;
  for (const v of b.pixels) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(max - min > 20, `range ${min}..${max}`);
});

test('defects change the image only inside defectBox', () => {
  for (const defect of ['stain', 'tear', 'discolouration'] as const) {
    for (let seed = 0; seed < 6; seed++) {
      const clean = laundryImage({ seed, defect: 'none', width: S, height: S });
      const bad = laundryImage({ seed, defect, width: S, height: S });
      const box = bad.defectBox;
      assert.ok(box, `${defect} ${seed} has a box`);
      assert.ok(box.x >= 0 && box.y >= 0 && box.w > 0 && box.h > 0 && box.x + box.w <= S && box.y + box.h <= S);
      let inside = 0;
      let outside = 0;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          let d = 0;
          for (let c = 0; c < 3; c++) d += Math.abs((bad.pixels[(y * S + x) * 3 + c] as number) - (clean.pixels[(y * S + x) * 3 + c] as number));
          if (x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h) inside += d;
          else outside += d;
        }
      }
      assert.ok(inside > 0, `${defect} ${seed} changes something`);
      assert.equal(outside, 0, `${defect} ${seed} leaks outside its box`);
    }
  }
});

/** Darkest block of a 6×6 grid relative to the median block, in luminance. */
function darkestBlockDrop(px: Uint8Array, w: number, h: number): number {
  const grid = 6;
  const means: number[] = [];
  for (let by = 0; by < grid; by++) {
    for (let bx = 0; bx < grid; bx++) {
      let sum = 0;
      let n = 0;
      for (let y = Math.floor((by * h) / grid); y < Math.floor(((by + 1) * h) / grid); y++) {
        for (let x = Math.floor((bx * w) / grid); x < Math.floor(((bx + 1) * w) / grid); x++) {
          const i = (y * w + x) * 3;
          sum += 0.299 * (px[i] as number) + 0.587 * (px[i + 1] as number) + 0.114 * (px[i + 2] as number);
          n++;
        }
      }
      means.push(sum / n);
    }
  }
  means.sort((a, b) => a - b);
  const median = means[Math.floor(means.length / 2)] as number;
  return (median - (means[0] as number)) / median;
}

test('a trivial darkest-region statistic separates stained from clean fabric', () => {
  const stained: number[] = [];
  const clean: number[] = [];
  for (let k = 0; k < 20; k++) {
    const s = laundryImage({ seed: 100 + k, defect: 'stain', width: S, height: S });
    const c = laundryImage({ seed: 200 + k, defect: 'none', width: S, height: S });
    stained.push(darkestBlockDrop(s.pixels, S, S));
    clean.push(darkestBlockDrop(c.pixels, S, S));
  }
  let wins = 0;
  for (const s of stained) for (const c of clean) if (s > c) wins++;
  const auc = wins / (stained.length * clean.length);
  assert.ok(auc > 0.75, `AUC ${auc.toFixed(3)}`);
});

test('laundryDataset: exact defect count, consistent labels, deterministic', () => {
  const opts = { count: 12, defectRatio: 0.5, seed: 9, width: 48, height: 48 };
  const ds = laundryDataset(opts);
  assert.equal(ds.length, 12);
  assert.equal(ds.filter((s) => s.label === 'defect').length, 6);
  const kinds = new Set<LaundryDefect>();
  for (const s of ds) {
    kinds.add(s.kind);
    assert.equal(s.label, s.kind === 'none' ? 'good' : 'defect');
    assert.equal(s.defectBox === null, s.kind === 'none');
    assert.equal(s.pixels.length, 48 * 48 * 3);
  }
  assert.deepEqual([...kinds].sort(), ['discolouration', 'none', 'stain', 'tear']);
  assert.deepEqual(laundryDataset(opts), ds);
  assert.equal(laundryDataset({ ...opts, defectRatio: 0 }).filter((s) => s.label === 'defect').length, 0);
  assert.ok(laundryDataset({ ...opts, kinds: ['tear'] }).every((s) => s.kind === 'none' || s.kind === 'tear'));
});
