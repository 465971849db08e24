#!/usr/bin/env node
// Brings the workspace's dependencies in with the pinned pnpm, on a machine that has only Node and npm.
// Skips the install when node_modules already matches the lockfile.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmSpec = pkg.packageManager; // e.g. pnpm@10.34.9
const lock = join(root, 'pnpm-lock.yaml');
const installedLock = join(root, 'node_modules', '.pnpm', 'lock.yaml');

if (existsSync(lock) && existsSync(installedLock) && readFileSync(lock, 'utf8') === readFileSync(installedLock, 'utf8')) {
  process.exit(0);
}

const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', ONNXRUNTIME_NODE_INSTALL_CUDA: 'skip' };
// Native addons (better-sqlite3) build against the running Node's own headers when they are on disk,
// so no header download is needed.
const nodePrefix = resolve(dirname(process.execPath), '..');
if (!env.npm_config_nodedir && existsSync(join(nodePrefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodePrefix;

const args = ['--yes', pnpmSpec, 'install', ...(existsSync(lock) ? ['--frozen-lockfile'] : [])];
console.error(`[setup] npx ${args.join(' ')}`);
const res = spawnSync('npx', args, { cwd: root, env, stdio: 'inherit' });
if (res.status !== 0) {
  console.error(`[setup] dependency install failed (exit ${res.status ?? res.signal})`);
  process.exit(res.status ?? 1);
}
