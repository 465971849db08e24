#!/usr/bin/env node
// Brings the workspace's dependencies in with the pinned pnpm, on a machine that has only Node and npm.
// Skips the install when node_modules already matches the lockfile. Then makes sure Chromium is there
// for the admin console's browser test (e2e/test/admin-page.test.ts): as root on Debian-like systems
// it installs the distribution's package; otherwise it says what is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmSpec = pkg.packageManager; // e.g. pnpm@10.34.9
const lock = join(root, 'pnpm-lock.yaml');
const installedLock = join(root, 'node_modules', '.pnpm', 'lock.yaml');

const CHROMIUM = '/usr/bin/chromium';

if (!(existsSync(lock) && existsSync(installedLock) && readFileSync(lock, 'utf8') === readFileSync(installedLock, 'utf8'))) installDependencies();
ensureChromium();

/** Installs the workspace with the pinned pnpm (frozen lockfile when there is one). */
function installDependencies() {
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
}

/** Installs Debian's chromium when it is missing and this is root on a system with apt-get. Never fails setup. */
function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const missing = `[setup] ${CHROMIUM} is missing: the admin console's browser test (e2e/test/admin-page.test.ts) needs Chromium and will fail without it.`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/etc/debian_version') && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(`${missing} Install it as root with: apt-get install -y --no-install-recommends chromium`);
    return;
  }
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...args) => {
    console.error(`[setup] apt-get ${args.join(' ')}`);
    return spawnSync('apt-get', args, { env: aptEnv, stdio: ['ignore', 2, 2] }).status === 0;
  };
  const install = () => apt('install', '-y', '--no-install-recommends', 'chromium');
  if (!install()) {
    console.error('[setup] installing chromium failed; refreshing the package lists and trying once more');
    if (!apt('update') || !install()) {
      console.error(`${missing} apt-get could not install it (see above).`);
      return;
    }
  }
  if (!existsSync(CHROMIUM)) console.error(`${missing} apt-get installed chromium, but not at that path.`);
  else console.error(`[setup] chromium installed at ${CHROMIUM}`);
}
