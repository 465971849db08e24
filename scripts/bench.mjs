#!/usr/bin/env node
// pnpm bench <name> [args]: runs bench/<name>.ts; the benchmark prints one JSON object as its last line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...rest] = process.argv.slice(2);
const file = name ? join(root, 'bench', `${name}.ts`) : '';
if (!name || !existsSync(file)) {
  const names = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  console.error(`usage: pnpm bench <name>   (one of: ${names.join(', ')})`);
  process.exit(2);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
