import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createLogger, IntegrityError, type ManifestFile, sha256Hex } from '@edgeloop/shared';
import { ContentStore } from '../src/model/content-store.js';
import { DownloadError, downloadFile } from '../src/updates/downloader.js';

const log = createLogger({ name: 'test', level: 'silent' });
const TIMEOUT_MS = 30_000;
/** The device the fake hub admits (a colon in the password is legal in Basic auth, RFC 7617). */
const CREDS = { deviceId: 'laundry-7', password: 'pa:ss-w0rd' };
const EXPECTED_AUTH = `Basic ${Buffer.from('laundry-7:pa:ss-w0rd').toString('base64')}`;

/** Deterministic, non-repeating-looking bytes. */
function bytesOf(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function fileFor(name: string, body: Buffer): ManifestFile {
  return { name, role: 'network', sha256: sha256Hex(body), size: body.length };
}

/**
 * Resolves once `path` exists with at least `size` bytes. Driven by fs.watch events on the
 * directory (each write the downloader makes is a change event), so no polling or fixed sleep.
 */
function waitForFileSize(path: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const watcher = watch(dirname(path));
    const check = (): void => {
      if (done) return;
      const st = statSync(path, { throwIfNoEntry: false });
      if (st && st.size >= size) {
        done = true;
        watcher.close();
        resolve();
      }
    };
    watcher.on('change', check);
    watcher.on('error', (err) => {
      done = true;
      watcher.close();
      reject(err);
    });
    check();
  });
}

/** Records the largest size a file reached, sampled on every change in its directory. */
function observeMaxSize(path: string): { max(): number; stop(): void } {
  let max = 0;
  const sample = (): void => {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st && st.size > max) max = st.size;
  };
  const watcher = watch(dirname(path));
  watcher.on('change', sample);
  sample();
  return {
    max: () => max,
    stop: () => watcher.close(),
  };
}

type Mode =
  /** 200, or 206 + Content-Range for `Range: bytes=N-`. */
  | { kind: 'normal' }
  /** Like normal, but the bytes differ from the declared ones (same length). */
  | { kind: 'corrupt' }
  /**
   * Sends the whole body, waits for `between`, then sends `extra` more bytes. The Content-Length
   * covers all unless `chunked`, where no length is declared and the excess only shows in the stream.
   */
  | { kind: 'more'; extra: Buffer; between?: () => Promise<void>; chunked?: boolean }
  /** Sends the first `after` bytes (honouring Range), waits for `between`, then destroys the socket. */
  | { kind: 'drop'; after: number; between: () => Promise<void> }
  | { kind: 'status'; status: number }
  /** Always 200 with the full body, whatever the Range header says. */
  | { kind: 'ignore-range' };

interface Artifact {
  body: Buffer;
  mode: Mode;
}

interface SeenRequest {
  sha: string;
  range: string | undefined;
  authorization: string | undefined;
}

class ArtifactServer {
  readonly artifacts = new Map<string, Artifact>();
  readonly requests: SeenRequest[] = [];
  private server: Server | null = null;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.destroy(err as Error);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  serve(body: Buffer, mode: Mode = { kind: 'normal' }): ManifestFile {
    const file = fileFor(`file-${this.artifacts.size}.bin`, body);
    this.artifacts.set(file.sha256, { body, mode });
    return file;
  }

  requestsFor(sha: string): SeenRequest[] {
    return this.requests.filter((r) => r.sha === sha);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/api\/v1\/artifacts\/([0-9a-f]{64})$/.exec(req.url ?? '');
    const sha = m?.[1];
    const art = sha ? this.artifacts.get(sha) : undefined;
    const rangeHeader = req.headers.range;
    if (sha) this.requests.push({ sha, range: rangeHeader, authorization: req.headers.authorization });
    if (req.headers.authorization !== EXPECTED_AUTH) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="edgeloop-device"', 'content-type': 'text/plain' });
      res.end('device credentials required');
      return;
    }
    if (!sha || !art) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const { mode } = art;
    if (mode.kind === 'status') {
      res.writeHead(mode.status, { 'content-type': 'text/plain' });
      res.end(`status ${mode.status}`);
      return;
    }
    let body = art.body;
    if (mode.kind === 'corrupt') {
      body = Buffer.from(art.body);
      for (let i = 0; i < body.length; i += 997) body[i] = (body[i] ?? 0) ^ 0xff;
    }
    let start = 0;
    const range = rangeHeader ? /^bytes=(\d+)-$/.exec(rangeHeader) : null;
    if (range && mode.kind !== 'ignore-range') {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
    }
    const slice = body.subarray(start);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    const status = start > 0 ? 206 : 200;
    if (start > 0) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;

    if (mode.kind === 'more') {
      if (!mode.chunked) headers['content-length'] = slice.length + mode.extra.length;
      res.writeHead(status, headers);
      if (mode.between) {
        await write(res, slice);
        await mode.between();
        res.end(mode.extra);
      } else {
        res.end(Buffer.concat([slice, mode.extra]));
      }
      return;
    }
    headers['content-length'] = slice.length;
    res.writeHead(status, headers);
    if (mode.kind === 'drop') {
      await write(res, slice.subarray(0, mode.after));
      await mode.between();
      res.socket?.destroy();
      return;
    }
    res.end(slice);
  }
}

function write(res: ServerResponse, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => res.write(data, (err) => (err ? reject(err) : resolve())));
}

async function putBlob(store: ContentStore, body: Buffer): Promise<ManifestFile> {
  const file = fileFor('blob.bin', body);
  writeFileSync(store.partialPathOf(file.sha256), body);
  await store.commit(file.sha256);
  return file;
}

function isDownloadError(retryable: boolean, pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof DownloadError, `expected DownloadError, got ${String(err)}`);
    assert.equal(err.name, 'DownloadError');
    assert.equal(err.retryable, retryable, `retryable for: ${err.message}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

function isIntegrityError(pattern?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof IntegrityError, `expected IntegrityError, got ${String(err)}`);
    assert.equal(err.code, 'integrity');
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'edgeloop-'));
  tmpDirs.push(d);
  return d;
}

after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('downloadFile', { timeout: 120_000 }, () => {
  const server = new ArtifactServer();
  let store: ContentStore;

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    store = new ContentStore(tempDir());
    await store.init();
  });

  const dl = (file: ManifestFile, baseUrl = server.baseUrl, credentials = CREDS) => downloadFile({ baseUrl, credentials, file, store, log, timeoutMs: TIMEOUT_MS });

  test('a good file lands in the store with the right bytes, and the partial is gone', async () => {
    const body = bytesOf(300_000, 1);
    const file = server.serve(body);
    assert.equal(store.has(file), false);
    await dl(file);
    assert.equal(store.has(file), true);
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
    await store.verify(file);
    const reqs = server.requestsFor(file.sha256);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0]?.range, undefined, 'a fresh download sends no Range header');
  });

  test('wrong device credentials → HTTP 401, a DownloadError that is not retried, nothing stored', async () => {
    const body = bytesOf(2000, 22);
    const file = server.serve(body);
    await assert.rejects(dl(file, server.baseUrl, { ...CREDS, password: 'wrong' }), isDownloadError(false, /HTTP 401/));
    assert.equal(store.has(file), false);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
    assert.equal(server.requestsFor(file.sha256)[0]?.authorization, `Basic ${Buffer.from('laundry-7:wrong').toString('base64')}`);
  });

  test('a trailing slash on the base URL is tolerated', async () => {
    const body = bytesOf(1000, 2);
    const file = server.serve(body);
    await dl(file, `${server.baseUrl}/`);
    assert.equal(store.has(file), true);
  });

  test('a file already in the store is not fetched again', async () => {
    const body = bytesOf(5000, 3);
    const file = server.serve(body);
    await dl(file);
    await dl(file);
    assert.equal(server.requestsFor(file.sha256).length, 1);
  });

  test('corrupt bytes → IntegrityError, nothing in the store, partial removed', async () => {
    const body = bytesOf(200_000, 4);
    const file = server.serve(body, { kind: 'corrupt' });
    await assert.rejects(dl(file), isIntegrityError(/sha256/));
    assert.equal(store.has(file), false);
    assert.equal(existsSync(store.pathOf(file.sha256)), false);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
  });

  test('more bytes than declared, streamed without a length (in a later chunk) → IntegrityError; partial never exceeds the declared size and is removed', async () => {
    const body = bytesOf(150_000, 5);
    const partialPath = store.partialPathOf(sha256Hex(body));
    const observer = observeMaxSize(partialPath);
    const file = server.serve(body, {
      kind: 'more',
      chunked: true,
      extra: bytesOf(50_000, 55),
      // Only send the excess once every declared byte is on disk: the overflow then arrives on its own.
      between: () => waitForFileSize(partialPath, body.length),
    });
    try {
      await assert.rejects(dl(file), isIntegrityError(/larger than its declared/));
    } finally {
      observer.stop();
    }
    assert.ok(observer.max() <= file.size, `partial reached ${observer.max()} bytes, declared ${file.size}`);
    assert.equal(observer.max(), file.size, 'the declared bytes were written before the excess arrived');
    assert.equal(store.has(file), false);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
  });

  test('a Content-Length larger than declared → IntegrityError before anything is written', async () => {
    const body = bytesOf(120_000, 6);
    const partialPath = store.partialPathOf(sha256Hex(body));
    const observer = observeMaxSize(partialPath);
    const file = server.serve(body, { kind: 'more', extra: bytesOf(80_000, 66) });
    try {
      await assert.rejects(dl(file), isIntegrityError(/larger than its declared/));
    } finally {
      observer.stop();
    }
    assert.ok(observer.max() <= file.size, `partial reached ${observer.max()} bytes, declared ${file.size}`);
    assert.equal(store.has(file), false);
    assert.equal(existsSync(partialPath), false);
  });

  test('a dropped connection → retryable DownloadError keeping K bytes; the next call resumes with Range bytes=K-', async () => {
    const body = bytesOf(400_000, 7);
    const K = 123_457;
    const partialPath = store.partialPathOf(sha256Hex(body));
    const file = server.serve(body, { kind: 'drop', after: K, between: () => waitForFileSize(partialPath, K) });

    await assert.rejects(dl(file), isDownloadError(true));
    assert.equal(store.has(file), false);
    assert.equal(statSync(partialPath).size, K, 'the partial keeps exactly the bytes received');
    assert.deepEqual(readFileSync(partialPath), body.subarray(0, K));

    const art = server.artifacts.get(file.sha256);
    assert.ok(art);
    art.mode = { kind: 'normal' };
    await dl(file);

    const reqs = server.requestsFor(file.sha256);
    assert.equal(reqs.length, 2);
    assert.equal(reqs[0]?.range, undefined);
    assert.equal(reqs[1]?.range, `bytes=${K}-`);
    assert.deepEqual(
      reqs.map((r) => r.authorization),
      [EXPECTED_AUTH, EXPECTED_AUTH],
      'the resumed request authenticates too',
    );
    assert.equal(store.has(file), true);
    const stored = readFileSync(store.pathOf(file.sha256));
    assert.equal(sha256Hex(stored), file.sha256);
    assert.deepEqual(stored, body);
    assert.equal(existsSync(partialPath), false);
  });

  test('a connection dropped twice resumes from the right offset each time', async () => {
    const body = bytesOf(300_000, 8);
    const K1 = 70_000;
    const K2 = 90_000;
    const partialPath = store.partialPathOf(sha256Hex(body));
    const file = server.serve(body, { kind: 'drop', after: K1, between: () => waitForFileSize(partialPath, K1) });
    await assert.rejects(dl(file), isDownloadError(true));
    const art = server.artifacts.get(file.sha256);
    assert.ok(art);
    art.mode = { kind: 'drop', after: K2, between: () => waitForFileSize(partialPath, K1 + K2) };
    await assert.rejects(dl(file), isDownloadError(true));
    assert.equal(statSync(partialPath).size, K1 + K2);
    art.mode = { kind: 'normal' };
    await dl(file);
    assert.deepEqual(
      server.requestsFor(file.sha256).map((r) => r.range),
      [undefined, `bytes=${K1}-`, `bytes=${K1 + K2}-`],
    );
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
  });

  test('a server that ignores Range → starts over and still ends with a correct file', async () => {
    const body = bytesOf(250_000, 9);
    const K = 40_000;
    const file = server.serve(body, { kind: 'ignore-range' });
    // A stale partial whose bytes do not even match: starting over must discard them.
    writeFileSync(store.partialPathOf(file.sha256), bytesOf(K, 99));
    await dl(file);
    assert.deepEqual(
      server.requestsFor(file.sha256).map((r) => r.range),
      [`bytes=${K}-`, undefined],
    );
    assert.equal(store.has(file), true);
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
  });

  test('a resumed partial whose bytes are wrong → IntegrityError and the partial is removed; the next call starts over', async () => {
    const body = bytesOf(100_000, 10);
    const K = 30_000;
    const file = server.serve(body);
    writeFileSync(store.partialPathOf(file.sha256), bytesOf(K, 1010));
    await assert.rejects(dl(file), isIntegrityError());
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
    assert.equal(store.has(file), false);
    await dl(file);
    assert.deepEqual(
      server.requestsFor(file.sha256).map((r) => r.range),
      [`bytes=${K}-`, undefined],
    );
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
  });

  test('a partial longer than the declared size is discarded and the file fetched from the start', async () => {
    const body = bytesOf(50_000, 11);
    const file = server.serve(body);
    writeFileSync(store.partialPathOf(file.sha256), bytesOf(60_000, 1111));
    await dl(file);
    assert.deepEqual(
      server.requestsFor(file.sha256).map((r) => r.range),
      [undefined],
    );
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
  });

  test('a complete but uncommitted partial is committed without a request', async () => {
    const body = bytesOf(20_000, 12);
    const file = server.serve(body);
    writeFileSync(store.partialPathOf(file.sha256), body);
    await dl(file);
    assert.equal(server.requestsFor(file.sha256).length, 0);
    assert.equal(store.has(file), true);
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
  });

  test('a complete partial with the wrong bytes → IntegrityError and removed, without a request', async () => {
    const body = bytesOf(20_000, 13);
    const file = server.serve(body);
    writeFileSync(store.partialPathOf(file.sha256), bytesOf(20_000, 1313));
    await assert.rejects(dl(file), isIntegrityError());
    assert.equal(server.requestsFor(file.sha256).length, 0);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
    assert.equal(store.has(file), false);
  });

  test('an empty (0-byte) file is installed', async () => {
    const body = Buffer.alloc(0);
    const file = server.serve(body);
    await dl(file);
    assert.equal(store.has(file), true);
    assert.equal(readFileSync(store.pathOf(file.sha256)).length, 0);
  });

  test('HTTP 500 → retryable DownloadError, nothing stored', async () => {
    const file = server.serve(bytesOf(1000, 14), { kind: 'status', status: 500 });
    await assert.rejects(dl(file), isDownloadError(true, /HTTP 500/));
    assert.equal(store.has(file), false);
  });

  test('HTTP 503 and 429 → retryable DownloadError', async () => {
    const f503 = server.serve(bytesOf(1000, 15), { kind: 'status', status: 503 });
    await assert.rejects(dl(f503), isDownloadError(true, /HTTP 503/));
    const f429 = server.serve(bytesOf(1000, 16), { kind: 'status', status: 429 });
    await assert.rejects(dl(f429), isDownloadError(true, /HTTP 429/));
  });

  test('HTTP 500 during a resume leaves the partial in place for the next try', async () => {
    const body = bytesOf(10_000, 17);
    const file = server.serve(body, { kind: 'status', status: 500 });
    writeFileSync(store.partialPathOf(file.sha256), body.subarray(0, 4000));
    await assert.rejects(dl(file), isDownloadError(true));
    assert.equal(statSync(store.partialPathOf(file.sha256)).size, 4000);
    const art = server.artifacts.get(file.sha256);
    assert.ok(art);
    art.mode = { kind: 'normal' };
    await dl(file);
    assert.deepEqual(
      server.requestsFor(file.sha256).map((r) => r.range),
      ['bytes=4000-', 'bytes=4000-'],
    );
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
  });

  test('HTTP 404 → DownloadError that is not retryable', async () => {
    const body = bytesOf(1000, 18);
    const file = fileFor('missing.bin', body); // never registered with the server
    await assert.rejects(dl(file), isDownloadError(false, /HTTP 404/));
    assert.equal(server.requestsFor(file.sha256).length, 1);
    assert.equal(store.has(file), false);
  });

  test('HTTP 403 → DownloadError that is not retryable', async () => {
    const file = server.serve(bytesOf(1000, 19), { kind: 'status', status: 403 });
    await assert.rejects(dl(file), isDownloadError(false, /HTTP 403/));
  });

  test('an unreachable hub → retryable DownloadError', async () => {
    const closed = new ArtifactServer();
    await closed.start();
    const url = closed.baseUrl;
    await closed.stop();
    const file = fileFor('x.bin', bytesOf(100, 20));
    await assert.rejects(dl(file, url), isDownloadError(true));
  });

  test('an aborted signal → retryable DownloadError and nothing stored', async () => {
    const body = bytesOf(1000, 21);
    const file = server.serve(body);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(downloadFile({ baseUrl: server.baseUrl, credentials: CREDS, file, store, log, timeoutMs: TIMEOUT_MS, signal: ac.signal }), isDownloadError(true));
    assert.equal(store.has(file), false);
  });
});

describe('ContentStore', () => {
  let store: ContentStore;
  beforeEach(async () => {
    store = new ContentStore(tempDir());
    await store.init();
  });

  test('init creates blobs/ and partial/', () => {
    assert.ok(statSync(store.blobDir).isDirectory());
    assert.ok(statSync(store.partialDir).isDirectory());
  });

  test('pathOf refuses anything that is not a lowercase sha256', () => {
    for (const bad of ['', '../etc/passwd', 'ABCDEF'.padEnd(64, '0'), 'a'.repeat(63), `${'a'.repeat(64)}/x`]) {
      assert.throws(() => store.pathOf(bad), IntegrityError, bad);
      assert.throws(() => store.has({ sha256: bad }), IntegrityError, bad);
    }
  });

  test('commit moves a partial into blobs/', async () => {
    const body = bytesOf(3000, 30);
    const file = await putBlob(store, body);
    assert.equal(store.has(file), true);
    assert.equal(existsSync(store.partialPathOf(file.sha256)), false);
    assert.deepEqual(readFileSync(store.pathOf(file.sha256)), body);
  });

  test('verify accepts an intact blob', async () => {
    const file = await putBlob(store, bytesOf(70_000, 31));
    await store.verify(file);
    assert.equal(store.has(file), true);
  });

  test('verify of a missing blob → IntegrityError "not installed"', async () => {
    const file = fileFor('gone.bin', bytesOf(10, 32));
    await assert.rejects(store.verify(file), isIntegrityError(/not installed/));
  });

  test('verify detects a tampered blob (same size, other bytes) → IntegrityError and removes it', async () => {
    const body = bytesOf(70_000, 33);
    const file = await putBlob(store, body);
    const tampered = Buffer.from(body);
    tampered[12_345] = (tampered[12_345] ?? 0) ^ 0x01;
    writeFileSync(store.pathOf(file.sha256), tampered);
    await assert.rejects(store.verify(file), isIntegrityError(/does not match/));
    assert.equal(store.has(file), false);
    assert.equal(existsSync(store.pathOf(file.sha256)), false);
  });

  test('verify of a blob with the wrong size → IntegrityError', async () => {
    const body = bytesOf(10_000, 34);
    const file = await putBlob(store, body);
    writeFileSync(store.pathOf(file.sha256), body.subarray(0, 9_000));
    await assert.rejects(store.verify(file), isIntegrityError(/9000 bytes, expected 10000/));
  });

  test('verify against a declared size that differs from the blob → IntegrityError', async () => {
    const file = await putBlob(store, bytesOf(10_000, 35));
    await assert.rejects(store.verify({ ...file, size: file.size + 1 }), isIntegrityError(/expected 10001/));
  });

  describe('recovery through the downloader', () => {
    const server = new ArtifactServer();
    before(async () => {
      await server.start();
    });
    after(async () => {
      await server.stop();
    });

    test('a tampered blob removed by verify is downloaded again', async () => {
      const body = bytesOf(40_000, 36);
      const file = server.serve(body);
      await downloadFile({ baseUrl: server.baseUrl, credentials: CREDS, file, store, log, timeoutMs: TIMEOUT_MS });
      const tampered = Buffer.from(body);
      tampered[0] = (tampered[0] ?? 0) ^ 0xff;
      writeFileSync(store.pathOf(file.sha256), tampered);
      await assert.rejects(store.verify(file), IntegrityError);
      await downloadFile({ baseUrl: server.baseUrl, credentials: CREDS, file, store, log, timeoutMs: TIMEOUT_MS });
      await store.verify(file);
      assert.equal(server.requestsFor(file.sha256).length, 2);
    });

    test('a truncated blob rejected by verify is removed, so it can be downloaded again', async () => {
      const body = bytesOf(40_000, 37);
      const file = server.serve(body);
      await downloadFile({ baseUrl: server.baseUrl, credentials: CREDS, file, store, log, timeoutMs: TIMEOUT_MS });
      writeFileSync(store.pathOf(file.sha256), body.subarray(0, 1000));
      await assert.rejects(store.verify(file), IntegrityError);
      assert.equal(store.has(file), false, 'a blob that failed verification must not stay installed');
      await downloadFile({ baseUrl: server.baseUrl, credentials: CREDS, file, store, log, timeoutMs: TIMEOUT_MS });
      await store.verify(file);
    });
  });
});
