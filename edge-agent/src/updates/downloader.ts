import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { IntegrityError, type Logger, type ManifestFile } from '@edgeloop/shared';
import type { ContentStore } from '../model/content-store.js';

export class DownloadError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** What the hub's artifact route asks of a device: HTTP Basic with its id and MQTT password. */
export interface HubCredentials {
  deviceId: string;
  password: string;
}

/** `Basic base64(deviceId:password)` (RFC 7617). The value is a secret: never log it. */
export function basicAuthorization(c: HubCredentials): string {
  return `Basic ${Buffer.from(`${c.deviceId}:${c.password}`, 'utf8').toString('base64')}`;
}

/**
 * Fetches one content-addressed file from the hub into the store. Resumes a partial file with an
 * HTTP Range request, hashes as it writes, cuts the transfer off at the declared size, and only
 * commits the file once hash and size match. Authenticates as the device (HTTP Basic).
 */
export async function downloadFile(opts: {
  baseUrl: string;
  credentials: HubCredentials;
  file: ManifestFile;
  store: ContentStore;
  log: Logger;
  signal?: AbortSignal;
  timeoutMs: number;
  /** Called after each chunk is written, with the bytes on disk so far. */
  onChunk?: (have: number) => void;
}): Promise<void> {
  const { file, store } = opts;
  if (store.has(file)) return;
  const partial = store.partialPathOf(file.sha256);
  const hash = createHash('sha256');
  let have = (await stat(partial).catch(() => null))?.size ?? 0;
  if (have > file.size) {
    await rm(partial, { force: true });
    have = 0;
  }
  if (have > 0) for await (const chunk of createReadStream(partial)) hash.update(chunk as Buffer);

  if (have < file.size) {
    const signal = AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])]);
    const url = `${opts.baseUrl.replace(/\/$/, '')}/api/v1/artifacts/${file.sha256}`;
    let res: Response;
    try {
      const headers: Record<string, string> = { authorization: basicAuthorization(opts.credentials) };
      if (have > 0) headers.range = `bytes=${have}-`;
      res = await fetch(url, { headers, signal });
    } catch (err) {
      throw new DownloadError(`download of ${file.name} failed: ${(err as Error).message}`, true);
    }
    if (res.status === 200 && have > 0) {
      // The server ignored the range: start over.
      hash.destroy();
      await rm(partial, { force: true });
      return downloadFile(opts);
    }
    if (res.status === 416 && have > 0) {
      // Nothing past what we have: the server's file is shorter than the manifest says.
      await res.body?.cancel();
      await rm(partial, { force: true });
      throw new IntegrityError(`${file.name} is smaller than its declared ${file.size} bytes (server has no bytes past ${have})`, { file: file.name });
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new DownloadError(`download of ${file.name} answered HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    }
    const total = declaredTotal(res);
    if (total !== null && total !== file.size) {
      await res.body?.cancel();
      await rm(partial, { force: true });
      const which = total > file.size ? 'larger' : 'smaller';
      throw new IntegrityError(`${file.name} is ${which} than its declared ${file.size} bytes (server has ${total})`, { file: file.name });
    }
    if (have > 0) opts.log.info({ file: file.name, offset: have }, 'resuming download');
    const fh = await open(partial, 'a');
    try {
      if (!res.body) throw new DownloadError(`download of ${file.name} had no body`, true);
      const reader = res.body.getReader();
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new DownloadError(`download of ${file.name} broke off at ${have} bytes: ${(err as Error).message}`, true);
        }
        if (chunk.done) break;
        const bytes = chunk.value;
        if (have + bytes.length > file.size) {
          await reader.cancel();
          await fh.close().catch(() => {});
          await rm(partial, { force: true });
          throw new IntegrityError(`${file.name} is larger than its declared ${file.size} bytes; cut off`, { file: file.name });
        }
        await fh.write(bytes);
        hash.update(bytes);
        have += bytes.length;
        opts.onChunk?.(have);
      }
      await fh.sync();
    } finally {
      await fh.close().catch(() => {});
    }
  }
  if (file.size === 0) await (await open(partial, 'a')).close();
  if (have !== file.size) throw new DownloadError(`${file.name} broke off at ${have} of ${file.size} bytes`, true);
  const digest = hash.digest('hex');
  if (digest !== file.sha256) {
    await rm(partial, { force: true });
    throw new IntegrityError(`${file.name} does not match its sha256 (got ${digest})`, { file: file.name });
  }
  await store.commit(file.sha256);
}

/** The full size the server says the file has: Content-Length of a 200, the total of a 206's Content-Range. */
function declaredTotal(res: Response): number | null {
  if (res.status === 206) {
    const m = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    return m ? Number(m[1]) : null;
  }
  const len = res.headers.get('content-length');
  return len !== null && /^\d+$/.test(len) ? Number(len) : null;
}
