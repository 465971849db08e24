import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GreyImage } from '@edgeloop/shared';
import { calibrateThreshold } from '../src/faces/calibrate.js';
import { seededRandom } from '../src/training/seeded-random.js';
import { buildBootstrapModel } from '../src/training/bootstrap-models.js';

// A real (untrained) embedder in onnxruntime; the images are seeded noise. What is checked is which
// scores the threshold is drawn from, not how good the network is.
const net = buildBootstrapModel('face', 3);
const rand = seededRandom(42);
const image = (): GreyImage => {
  const data = new Uint8Array(40 * 48);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { data, width: 40, height: 48 };
};
const members = new Map([
  ['ann', [image(), image(), image()]],
  ['bob', [image(), image(), image()]],
]);
const strangers = [image(), image()];

test('without probes: leave-one-out genuine scores, crops against other members and strangers as impostors', async () => {
  const c = await calibrateThreshold(net.onnx, net.preprocess, { members, strangers });
  assert.equal(c.genuineCount, 6, 'each crop against its member’s other crops');
  assert.equal(c.impostorCount, 6 + 2, 'each crop against the other member, and each stranger');
  assert.ok(Number.isFinite(c.threshold) && c.threshold > c.maxImpostor, 'above every impostor score');
});

test('with unseen probes: genuine scores come from the probes only; each probe is also an impostor against the other members', async () => {
  const probes = [
    { label: 'ann', image: image() },
    { label: 'ann', image: image() },
    { label: 'bob', image: image() },
    { label: 'carl', image: image() }, // not a member: ignored
  ];
  const c = await calibrateThreshold(net.onnx, net.preprocess, { members, strangers, probes });
  assert.equal(c.genuineCount, 3, 'one genuine score per probe of a member, none from the trained crops');
  assert.equal(c.impostorCount, 6 + 2 + 3);
  assert.ok(c.threshold > c.maxImpostor);
});
