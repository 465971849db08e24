import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeGreyPng, errorMessage, type GreyImage, type Logger, writeFileAtomic } from '@edgeloop/shared';

interface SpooledSample {
  memberId: string;
  score: number;
  modelVersion: number;
  photoBase64: string;
}

/**
 * Successful authentications become training samples for the hub's nightly run. Each is written
 * to a spool folder first (atomic, fsynced), then uploaded and deleted; a spool survives power cuts
 * and hub outages, bounded by `maxFiles` (the oldest go first when full).
 */
export class SampleSpool {
  private readonly dir: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly o: {
      dataDir: string;
      hubHttpUrl: string;
      deviceId: string;
      password: () => string;
      log: Logger;
      maxFiles?: number;
      retryMs?: number;
    },
  ) {
    this.dir = join(o.dataDir, 'samples');
  }

  async add(crop: GreyImage, memberId: string, score: number, modelVersion: number): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const png = await encodeGreyPng(crop);
    const body: SpooledSample = { memberId, score: Math.max(-1, Math.min(1, score)), modelVersion, photoBase64: png.toString('base64') };
    await writeFileAtomic(join(this.dir, `${Date.now().toString().padStart(15, '0')}-${randomUUID()}.json`), JSON.stringify(body));
    await this.trim();
    this.kick();
  }

  pending(): Promise<string[]> {
    return readdir(this.dir)
      .then((names) => names.filter((n) => n.endsWith('.json')).sort())
      .catch(() => []);
  }

  /** Uploads what is spooled; returns when the spool is empty or the hub refused / was unreachable. */
  flush(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  kick(): void {
    this.flush().catch(() => {});
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async drain(): Promise<void> {
    for (const name of await this.pending()) {
      const path = join(this.dir, name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
        JSON.parse(text);
      } catch {
        await rm(path, { force: true }); // torn or unreadable: nothing to salvage
        continue;
      }
      const res = await fetch(`${this.o.hubHttpUrl}/api/v1/device/samples/face`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`${this.o.deviceId}:${this.o.password()}`).toString('base64')}`,
        },
        body: text,
        signal: AbortSignal.timeout(15_000),
      }).catch((err: unknown) => err as Error);
      if (res instanceof Error || res.status >= 500 || res.status === 401 || res.status === 429) {
        this.o.log.debug({ err: res instanceof Error ? errorMessage(res) : `HTTP ${res.status}` }, 'face sample upload deferred');
        this.retryLater();
        return;
      }
      await res.arrayBuffer().catch(() => undefined);
      // 2xx: stored. Other 4xx (a member deleted meanwhile): the hub will never take it; drop it.
      if (!res.ok) this.o.log.info({ status: res.status }, 'face sample refused by the hub; dropped');
      await rm(path, { force: true });
    }
  }

  private retryLater(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, this.o.retryMs ?? 30_000);
    this.timer.unref();
  }

  private async trim(): Promise<void> {
    const names = await this.pending();
    const excess = names.length - (this.o.maxFiles ?? 500);
    for (const n of names.slice(0, Math.max(0, excess))) await rm(join(this.dir, n), { force: true });
  }
}
