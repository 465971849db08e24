import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  type SignedEnvelope,
  SignatureError,
  type SigningKey,
  TrustStore,
  canonicalBytes,
  generateSigningKeyPair,
  keyIdOf,
  sha256Hex,
  signBytes,
  signEnvelope,
  signedEnvelopeSchema,
} from '../src/index.js';
import { z } from 'zod';

function signingKey(): SigningKey & { privateKeyPem: string } {
  const pair = generateSigningKeyPair();
  return { keyId: pair.keyId, privateKey: createPrivateKey(pair.privateKeyPem), publicKeyPem: pair.publicKeyPem, privateKeyPem: pair.privateKeyPem };
}

interface Doc {
  deviceId: string;
  revision: number;
  tags: string[];
  nested: { enabled: boolean; ratio: number };
}

const doc = (): Doc => ({ deviceId: 'door-1', revision: 7, tags: ['a', 'b'], nested: { enabled: true, ratio: 0.5 } });

function assertSignatureError(fn: () => unknown, reason: SignatureError['reason']): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureError, `expected SignatureError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.code, `signature-${reason}`);
    return true;
  });
}

describe('keys', () => {
  test('generateSigningKeyPair returns PEMs and a 16-hex key id', () => {
    const pair = generateSigningKeyPair();
    assert.match(pair.keyId, /^[0-9a-f]{16}$/);
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(createPublicKey(pair.publicKeyPem).asymmetricKeyType, 'ed25519');
  });

  test('keyIdOf is the first 16 hex of SHA-256 over the SPKI DER', () => {
    const pair = generateSigningKeyPair();
    const der = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
    assert.equal(keyIdOf(pair.publicKeyPem), sha256Hex(der).slice(0, 16));
  });

  test('keyIdOf is stable for the same key, from PEM or KeyObject', () => {
    const pair = generateSigningKeyPair();
    const fromPem = keyIdOf(pair.publicKeyPem);
    assert.equal(fromPem, pair.keyId);
    assert.equal(keyIdOf(pair.publicKeyPem), fromPem);
    assert.equal(keyIdOf(createPublicKey(pair.publicKeyPem)), fromPem);
    // A private key yields the id of its public half.
    assert.equal(keyIdOf(createPublicKey(createPrivateKey(pair.privateKeyPem))), fromPem);
  });

  test('different keys get different ids', () => {
    const ids = new Set(Array.from({ length: 8 }, () => generateSigningKeyPair().keyId));
    assert.equal(ids.size, 8);
  });

  test('sha256Hex hashes strings and bytes alike', () => {
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(sha256Hex(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), sha256Hex('abc'));
  });
});

describe('signEnvelope + TrustStore.verify', () => {
  test('round trip returns the signed value', () => {
    const key = signingKey();
    const env = signEnvelope(doc(), key);
    assert.equal(env.keyId, key.keyId);
    assert.deepEqual(env.signed, doc());
    assert.equal(Buffer.from(env.signature, 'base64').length, 64);
    const store = new TrustStore([key.publicKeyPem]);
    assert.ok(store.has(key.keyId));
    assert.deepEqual(store.verify(env), doc());
  });

  test('the signature covers the canonical bytes of `signed`', () => {
    const key = signingKey();
    const env = signEnvelope(doc(), key);
    assert.equal(signBytes(canonicalBytes(doc()), key.privateKey), env.signature); // Ed25519 is deterministic
  });

  test('survives a JSON round trip (what travels over MQTT/HTTP)', () => {
    const key = signingKey();
    const env = JSON.parse(JSON.stringify(signEnvelope(doc(), key))) as SignedEnvelope<Doc>;
    assert.deepEqual(new TrustStore([key.publicKeyPem]).verify(env), doc());
  });

  test('key order inside `signed` does not matter (canonical form)', () => {
    const key = signingKey();
    const env = signEnvelope(doc(), key);
    const reordered: SignedEnvelope<Doc> = {
      signature: env.signature,
      keyId: env.keyId,
      signed: { nested: { ratio: 0.5, enabled: true }, tags: ['a', 'b'], revision: 7, deviceId: 'door-1' },
    };
    assert.deepEqual(new TrustStore([key.publicKeyPem]).verify(reordered), doc());
  });

  test('tampering with any field of `signed` is a bad signature', () => {
    const key = signingKey();
    const store = new TrustStore([key.publicKeyPem]);
    const env = signEnvelope(doc(), key);
    const tamperings: ((d: Doc) => unknown)[] = [
      (d) => ({ ...d, deviceId: 'door-2' }),
      (d) => ({ ...d, revision: 8 }),
      (d) => ({ ...d, tags: ['a'] }),
      (d) => ({ ...d, tags: ['b', 'a'] }),
      (d) => ({ ...d, nested: { ...d.nested, enabled: false } }),
      (d) => ({ ...d, nested: { ...d.nested, ratio: 0.25 } }),
      (d) => ({ ...d, extra: 1 }),
      (d) => {
        const { tags: _drop, ...rest } = d;
        return rest;
      },
    ];
    for (const tamper of tamperings) {
      const forged = { ...env, signed: tamper(doc()) } as SignedEnvelope<Doc>;
      assertSignatureError(() => store.verify(forged), 'bad-signature');
    }
  });

  test('a signature by another key presented under the trusted key id is a bad signature', () => {
    const trusted = signingKey();
    const attacker = signingKey();
    const store = new TrustStore([trusted.publicKeyPem]);
    const forged = { ...signEnvelope(doc(), attacker), keyId: trusted.keyId };
    assertSignatureError(() => store.verify(forged), 'bad-signature');
  });

  test('a flipped bit in the signature is a bad signature', () => {
    const key = signingKey();
    const env = signEnvelope(doc(), key);
    const sig = Buffer.from(env.signature, 'base64');
    sig[10] = (sig[10] as number) ^ 0x01;
    assertSignatureError(() => new TrustStore([key.publicKeyPem]).verify({ ...env, signature: sig.toString('base64') }), 'bad-signature');
  });

  test('a signature of the wrong length is a bad signature', () => {
    const key = signingKey();
    const store = new TrustStore([key.publicKeyPem]);
    const env = signEnvelope(doc(), key);
    const sig = Buffer.from(env.signature, 'base64');
    for (const wrong of [sig.subarray(0, 63), Buffer.concat([sig, Buffer.from([0])]), Buffer.alloc(0), Buffer.alloc(32)]) {
      assertSignatureError(() => store.verify({ ...env, signature: wrong.toString('base64') }), 'bad-signature');
    }
  });

  test('an unknown key id is refused as unknown-key', () => {
    const key = signingKey();
    const other = signingKey();
    const store = new TrustStore([other.publicKeyPem]);
    assertSignatureError(() => store.verify(signEnvelope(doc(), key)), 'unknown-key');
    assertSignatureError(() => new TrustStore().verify(signEnvelope(doc(), key)), 'unknown-key');
  });

  test('a revoked key is refused as revoked-key, even though it is present', () => {
    const key = signingKey();
    const store = new TrustStore([key.publicKeyPem]);
    const env = signEnvelope(doc(), key);
    store.revoke(key.keyId);
    assert.equal(store.has(key.keyId), false);
    assertSignatureError(() => store.verify(env), 'revoked-key');
    // Adding the key again does not lift the revocation.
    store.add(key.publicKeyPem);
    assertSignatureError(() => store.verify(env), 'revoked-key');
  });

  test('revoking an id that was never added still refuses it as revoked', () => {
    const key = signingKey();
    const store = new TrustStore();
    store.revoke(key.keyId);
    assertSignatureError(() => store.verify(signEnvelope(doc(), key)), 'revoked-key');
  });

  test('revoking one key leaves the others trusted', () => {
    const a = signingKey();
    const b = signingKey();
    const store = new TrustStore([a.publicKeyPem, b.publicKeyPem]);
    store.revoke(a.keyId);
    assert.deepEqual(store.verify(signEnvelope(doc(), b)), doc());
  });

  test('TrustStore.add returns the key id', () => {
    const key = signingKey();
    const store = new TrustStore();
    assert.equal(store.has(key.keyId), false);
    assert.equal(store.add(key.publicKeyPem), key.keyId);
    assert.equal(store.has(key.keyId), true);
  });

  test('TrustStore.add refuses RSA and EC keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const ed448 = generateKeyPairSync('ed448').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const pem of [rsa, ec, ed448]) {
      const store = new TrustStore();
      assertSignatureError(() => store.add(pem), 'bad-certificate');
      assert.equal(store.has(keyIdOf(pem)), false);
    }
    assertSignatureError(() => new TrustStore([ec]), 'bad-certificate');
  });

  test('TrustStore.add throws on something that is not a key', () => {
    assert.throws(() => new TrustStore().add('not a pem'));
  });
});

describe('signedEnvelopeSchema', () => {
  const schema = signedEnvelopeSchema(z.object({ n: z.number() }));

  test('accepts a real envelope', () => {
    const env = signEnvelope({ n: 1 }, signingKey());
    assert.deepEqual(schema.parse(env), env);
  });

  test('rejects a malformed key id and an empty signature', () => {
    const env = signEnvelope({ n: 1 }, signingKey());
    assert.equal(schema.safeParse({ ...env, keyId: 'ABCDEF0123456789' }).success, false);
    assert.equal(schema.safeParse({ ...env, keyId: env.keyId.slice(1) }).success, false);
    assert.equal(schema.safeParse({ ...env, signature: '' }).success, false);
    assert.equal(schema.safeParse({ ...env, signed: { n: 'x' } }).success, false);
  });
});
