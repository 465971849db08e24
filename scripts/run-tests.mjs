#!/usr/bin/env node
// Runs every package's tests with node:test, in two phases: first everything else, then the tests
// that train networks for minutes (they would starve the timing-sensitive fleet tests of CPU on a
// 2-core machine). Each phase ends with node:test's summary; the exit code fails if either failed.
// Usage: node scripts/run-tests.mjs [path-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dirs = ['shared/test', 'hub/test', 'edge-agent/test', 'device-images/test', 'e2e/test'];
const filters = process.argv.slice(2);

function walk(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (e.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = dirs
  .flatMap((d) => walk(join(root, d)))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
/** Tests that spend minutes training networks. */
const HEAVY = ['hub/test/faces/', 'hub/test/laundry/', 'hub/test/tfjs/', 'hub/test/export/', 'hub/test/training/pipelines', 'hub/test/training/sandbox', 'e2e/test/face-door', 'e2e/test/training-saga'];
const isHeavy = (f) => HEAVY.some((h) => f.includes(h));
let failed = false;
for (const phase of [files.filter((f) => !isHeavy(f)), files.filter(isHeavy)]) {
  if (phase.length === 0) continue;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...phase], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'test' },
  });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
