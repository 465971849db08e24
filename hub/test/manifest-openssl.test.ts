import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canonicalize, manifestSchema } from '@edgeloop/shared';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
before(async () => {
  hub = await startTestHub();
});
after(async () => {
  await hub.close();
});

function opensslVerify(pubPem: string, data: Buffer, sig: Buffer): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-openssl-'));
  writeFileSync(join(dir, 'pub.pem'), pubPem);
  writeFileSync(join(dir, 'data'), data);
  writeFileSync(join(dir, 'sig'), sig);
  try {
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'data'), '-sigfile', join(dir, 'sig')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return out.toString().includes('Signature Verified Successfully');
  } catch {
    return false;
  }
}

test('the signed manifest verifies with the real openssl binary against its canonical bytes', async () => {
  const keys = (await (await fetch(`${hub.httpUrl}/api/v1/keys`)).json()) as { keys: { keyId: string; publicKeyPem: string }[] };
  assert.equal(keys.keys.length, 1);
  for (const type of ['face', 'laundry']) {
    const res = await fetch(`${hub.httpUrl}/api/v1/models/${type}/versions/1/manifest`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { signed: unknown; keyId: string; signature: string; canonical: string };
    const manifest = manifestSchema.parse(body.signed);
    assert.equal(manifest.modelType, type);
    assert.equal(manifest.version, 1);
    assert.equal(body.canonical, canonicalize(body.signed), 'served canonical text is the RFC 8785 form of the manifest');
    const key = keys.keys.find((k) => k.keyId === body.keyId);
    assert.ok(key, 'manifest key is listed at /api/v1/keys');
    const sig = Buffer.from(body.signature, 'base64');
    assert.equal(opensslVerify(key.publicKeyPem, Buffer.from(body.canonical, 'utf8'), sig), true);
    // The same signature must not verify other bytes.
    const tampered = Buffer.from(body.canonical.replace('"version":1', '"version":2'), 'utf8');
    assert.equal(opensslVerify(key.publicKeyPem, tampered, sig), false);
  }
});

test('manifest lookups answer clear errors for unknown types and versions', async () => {
  const bad = await fetch(`${hub.httpUrl}/api/v1/models/toaster/versions/1/manifest`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { message: string }).message, /type/);
  const missing = await fetch(`${hub.httpUrl}/api/v1/models/face/versions/99/manifest`);
  assert.equal(missing.status, 404);
});

test('artifacts are served content-addressed with HTTP Range to an outside verifier holding the admin token', async () => {
  const m = (await (await fetch(`${hub.httpUrl}/api/v1/models/face/versions/1/manifest`)).json()) as { signed: { files: { sha256: string; size: number }[] } };
  const file = m.signed.files[0];
  assert.ok(file);
  const full = await hub.admin(`/api/v1/artifacts/${file.sha256}`);
  assert.equal(full.status, 200);
  const bytes = Buffer.from(await full.arrayBuffer());
  assert.equal(bytes.length, file.size);
  const part = await hub.admin(`/api/v1/artifacts/${file.sha256}`, { headers: { range: 'bytes=100-' } });
  assert.equal(part.status, 206);
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100));
  assert.equal((await hub.admin(`/api/v1/artifacts/${'0'.repeat(64)}`)).status, 404);
  assert.equal((await hub.admin('/api/v1/artifacts/not-a-hash')).status, 400);
});
