import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, type KeyRing, type Logger, type SignedKeySet, signedKeySetSchema, writeJsonAtomic } from '@edgeloop/shared';

/**
 * Keeps the device's key ring current: the last applied root-signed key set is persisted (so a
 * rotated or revoked key is remembered across reboots) and newer ones come from the hub over HTTP
 * at boot and over MQTT (retained) afterwards.
 */
export class KeySetFile {
  private readonly path: string;

  constructor(
    private readonly ring: KeyRing,
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.path = join(dataDir, 'keyset.json');
  }

  loadPersisted(): void {
    if (!existsSync(this.path)) return;
    try {
      const r = this.ring.applyKeySet(signedKeySetSchema.parse(JSON.parse(readFileSync(this.path, 'utf8'))));
      if (!r.applied) this.log.warn({ reason: r.reason }, 'persisted key set not applied');
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'persisted key set unreadable');
    }
  }

  /** Applies a key set; persists it when it was newer. Returns whether it changed the ring. */
  async apply(signed: SignedKeySet, source: string): Promise<boolean> {
    const r = this.ring.applyKeySet(signed);
    if (!r.applied) {
      if (!r.reason.includes('not newer')) this.log.warn({ source, reason: r.reason }, 'key set refused');
      return false;
    }
    await writeJsonAtomic(this.path, signed);
    this.log.info({ source, version: r.version }, 'key set applied');
    return true;
  }

  /** Best effort at boot: the hub may be unreachable (offline first). */
  async fetchFromHub(httpUrl: string, timeoutMs: number): Promise<void> {
    try {
      const res = await fetch(`${httpUrl.replace(/\/$/, '')}/api/v1/keys`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return;
      const body = (await res.json()) as { keySet?: unknown };
      const parsed = signedKeySetSchema.safeParse(body.keySet);
      if (parsed.success) await this.apply(parsed.data, 'http');
    } catch (err) {
      this.log.info({ err: errorMessage(err) }, 'key set not fetched at boot (hub unreachable)');
    }
  }
}
