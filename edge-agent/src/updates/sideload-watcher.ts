import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { BUNDLE_SUFFIX, bundleSchema, errorMessage, type Logger, type ModelType, type Verifier } from '@edgeloop/shared';
import type { ContentStore } from '../model/content-store.js';
import type { UpdateOutcome } from './update-runner.js';

export interface SideloadDeps {
  dir: string;
  modelType: ModelType;
  trust: Verifier;
  store: ContentStore;
  maxBundleBytes: number;
  log: Logger;
  /** Hands a verified manifest to the update runner (same planner: expiry, downgrade, refusals). */
  install: (signed: import('@edgeloop/shared').SignedManifest) => Promise<UpdateOutcome>;
}

export type SideloadResult = { file: string; ok: true; version: number } | { file: string; ok: false; reason: string };

/**
 * Watches a folder for signed bundles dropped by a technician. Each goes through the same checks
 * as an over-the-air update; a bundle that passes moves to `installed/`, one that fails to
 * `rejected/` beside a `<name>.reason.txt`, and is never loaded.
 */
export class SideloadWatcher {
  private watcher: FSWatcher | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: ((r: SideloadResult) => void)[] = [];

  constructor(private readonly d: SideloadDeps) {}

  async start(): Promise<void> {
    for (const sub of ['rejected', 'installed']) await mkdir(join(this.d.dir, sub), { recursive: true });
    this.watcher = watch(this.d.dir, {
      depth: 0,
      ignoreInitial: false,
      awaitWriteFinish: { stabilityThreshold: 300, pollInterval: 50 },
    });
    this.watcher.on('add', (path) => {
      if (basename(path).startsWith('.')) return;
      this.queue = this.queue.then(() => this.process(path)).catch((err) => this.d.log.error({ err: errorMessage(err), path }, 'sideload failed'));
    });
    this.watcher.on('error', (err) => this.d.log.warn({ err: errorMessage(err) }, 'sideload watcher error'));
    await new Promise<void>((r) => this.watcher?.once('ready', () => r()));
  }

  onResult(fn: (r: SideloadResult) => void): void {
    this.listeners.push(fn);
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    await this.queue;
  }

  private async process(path: string): Promise<void> {
    const name = basename(path);
    const result = await this.check(path).catch((err): SideloadResult => ({ file: name, ok: false, reason: errorMessage(err) }));
    if (result.ok) {
      await rename(path, join(this.d.dir, 'installed', name));
      this.d.log.info({ file: name, version: result.version }, 'sideloaded bundle installed');
    } else {
      await rename(path, join(this.d.dir, 'rejected', name));
      await writeFile(join(this.d.dir, 'rejected', `${name}.reason.txt`), `${new Date().toISOString()} ${result.reason}\n`);
      this.d.log.warn({ file: name, reason: result.reason }, 'sideloaded bundle rejected');
    }
    for (const l of this.listeners) l(result);
  }

  private async check(path: string): Promise<SideloadResult> {
    const name = basename(path);
    const fail = (reason: string): SideloadResult => ({ file: name, ok: false, reason });
    if (!name.endsWith(BUNDLE_SUFFIX)) return fail(`not a bundle: the name must end in ${BUNDLE_SUFFIX}`);
    const size = (await stat(path)).size;
    if (size > this.d.maxBundleBytes) return fail(`bundle is ${size} bytes, over the ${this.d.maxBundleBytes} limit`);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      return fail(`bundle is not JSON: ${errorMessage(err)}`);
    }
    const parsed = bundleSchema.safeParse(json);
    if (!parsed.success) return fail(`bundle does not match edgeloop.bundle/v1: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const bundle = parsed.data;
    // Signature first: nothing from an unsigned or forged bundle is written anywhere.
    const manifest = this.d.trust.verify(bundle.manifest);
    if (manifest.modelType !== this.d.modelType) return fail(`bundle is a ${manifest.modelType} model; this device serves ${this.d.modelType}`);
    for (const f of manifest.files) {
      const b64 = bundle.files[f.name];
      if (b64 === undefined) return fail(`bundle lacks ${f.name}`);
      await this.d.store.putVerified(f, Buffer.from(b64, 'base64'));
    }
    const outcome = await this.d.install(bundle.manifest);
    return outcome.ok ? { file: name, ok: true, version: outcome.version } : fail(`${outcome.code}: ${outcome.reason}`);
  }
}
