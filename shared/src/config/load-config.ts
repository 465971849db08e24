import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ValidationError } from '../errors.js';

/**
 * Parses one app's config once: defaults from the zod schema, then an optional JSON file, then
 * environment overrides whose names derive from key paths: `http.port` → `<PREFIX>HTTP__PORT`,
 * `dataDir` → `<PREFIX>DATA_DIR` (camelCase → SNAKE, nesting → `__`). Every error is listed.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  opts: { envPrefix: string; env?: NodeJS.ProcessEnv; file?: string; overrides?: Record<string, unknown> },
): z.infer<S> {
  const env = opts.env ?? process.env;
  const errors: string[] = [];
  let base: Record<string, unknown> = {};
  if (opts.file) {
    try {
      base = JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      errors.push(`config file ${opts.file}: ${(err as Error).message}`);
    }
  }
  const merged = deepMerge(base, opts.overrides ?? {});
  for (const leaf of envLeaves(schema, [])) {
    const name = envName(opts.envPrefix, leaf.path);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    try {
      setPath(merged, leaf.path, coerce(raw, leaf.kind));
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message}`);
    }
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    const leaves = envLeaves(schema, []).map((l) => l.path);
    for (const issue of result.error.issues) {
      const path = issue.path.map(String);
      // Name the variable that sets this value: the longest leaf path that prefixes the issue path.
      const leaf = leaves.filter((l) => l.every((k, i) => path[i] === k)).sort((a, b) => b.length - a.length)[0] ?? path;
      errors.push(`${path.join('.') || '(root)'} (env ${envName(opts.envPrefix, leaf)}): ${issue.message}`);
    }
  }
  if (errors.length > 0) {
    throw new ValidationError(`invalid configuration:\n  - ${errors.join('\n  - ')}`, { errors });
  }
  return result.data as z.infer<S>;
}

export function envName(prefix: string, path: readonly string[]): string {
  return prefix + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

/** Lists every env variable a schema accepts, for `--help` and docs. */
export function describeEnv(schema: z.ZodObject, prefix: string): string[] {
  return envLeaves(schema, []).map((l) => envName(prefix, l.path));
}

type LeafKind = 'string' | 'number' | 'boolean' | 'json';

function unwrap(t: z.ZodType): z.ZodType {
  let cur = t;
  for (;;) {
    const def = (cur as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) {
      cur = def.innerType;
    } else return cur;
  }
}

function envLeaves(schema: z.ZodType, path: string[]): { path: string[]; kind: LeafKind }[] {
  const inner = unwrap(schema);
  const type = (inner as unknown as { def: { type: string } }).def.type;
  if (type === 'object') {
    const shape = (inner as z.ZodObject).shape as Record<string, z.ZodType>;
    return Object.entries(shape).flatMap(([k, v]) => envLeaves(v, [...path, k]));
  }
  const kind: LeafKind = type === 'number' || type === 'int' ? 'number' : type === 'boolean' ? 'boolean' : type === 'string' || type === 'enum' || type === 'literal' ? 'string' : 'json';
  return [{ path, kind }];
}

function coerce(raw: string, kind: LeafKind): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'number': {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(n)) throw new Error(`expected a number, got "${raw}"`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new Error(`expected true or false, got "${raw}"`);
    case 'json':
      return JSON.parse(raw);
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1] as string] = value;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
