import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { z } from 'zod';
import { ValidationError, describeEnv, envName, loadConfig } from '../src/index.js';

const schema = z.object({
  dataDir: z.string().default('/var/lib/app'),
  http: z
    .object({
      port: z.number().int().min(1).max(65535).default(8080),
      host: z.string().default('0.0.0.0'),
      trustProxy: z.boolean().default(false),
    })
    .prefault({}),
  mqtt: z
    .object({
      url: z.string().default('mqtt://localhost:1883'),
      keepaliveSeconds: z.number().int().nonnegative().default(30),
    })
    .prefault({}),
  mode: z.enum(['dev', 'prod']).default('dev'),
  tags: z.array(z.string()).default([]),
  maxUploadMb: z.int().positive().default(5),
  debug: z.boolean().default(false),
  ratio: z.number().min(0).max(1).default(0.5),
  label: z.string().optional(),
});

const P = 'APP_';
const load = (env: Record<string, string>, extra: { file?: string; overrides?: Record<string, unknown> } = {}) =>
  loadConfig(schema, { envPrefix: P, env, ...extra });

/** Runs `fn`, asserts it throws a ValidationError, and returns its message. */
function validationMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.equal(err.code, 'invalid-input');
    return err.message;
  }
  assert.fail('expected a ValidationError');
}

const dir = mkdtempSync(join(tmpdir(), 'edgeloop-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

describe('envName / describeEnv', () => {
  test('camelCase becomes SNAKE_CASE and nesting becomes a double underscore', () => {
    assert.equal(envName('APP_', ['http', 'port']), 'APP_HTTP__PORT');
    assert.equal(envName('APP_', ['dataDir']), 'APP_DATA_DIR');
    assert.equal(envName('APP_', ['http', 'trustProxy']), 'APP_HTTP__TRUST_PROXY');
    assert.equal(envName('X_', ['mqtt', 'keepaliveSeconds']), 'X_MQTT__KEEPALIVE_SECONDS');
    assert.equal(envName('', ['maxUploadMb']), 'MAX_UPLOAD_MB');
    assert.equal(envName('APP_', ['s3Bucket']), 'APP_S3_BUCKET');
  });

  test('describeEnv lists every leaf of the schema, nested ones included', () => {
    assert.deepEqual(describeEnv(schema, P), [
      'APP_DATA_DIR',
      'APP_HTTP__PORT',
      'APP_HTTP__HOST',
      'APP_HTTP__TRUST_PROXY',
      'APP_MQTT__URL',
      'APP_MQTT__KEEPALIVE_SECONDS',
      'APP_MODE',
      'APP_TAGS',
      'APP_MAX_UPLOAD_MB',
      'APP_DEBUG',
      'APP_RATIO',
      'APP_LABEL',
    ]);
  });
});

describe('loadConfig', () => {
  test('schema defaults apply when nothing is set, nested ones included', () => {
    assert.deepEqual(load({}), {
      dataDir: '/var/lib/app',
      http: { port: 8080, host: '0.0.0.0', trustProxy: false },
      mqtt: { url: 'mqtt://localhost:1883', keepaliveSeconds: 30 },
      mode: 'dev',
      tags: [],
      maxUploadMb: 5,
      debug: false,
      ratio: 0.5,
    });
  });

  test('env overrides use the derived names and only affect their own leaf', () => {
    const cfg = load({ APP_HTTP__PORT: '9000', APP_DATA_DIR: '/data', APP_MODE: 'prod', APP_LABEL: 'hub-1' });
    assert.equal(cfg.http.port, 9000);
    assert.equal(cfg.http.host, '0.0.0.0');
    assert.equal(cfg.dataDir, '/data');
    assert.equal(cfg.mode, 'prod');
    assert.equal(cfg.label, 'hub-1');
  });

  test('variables without the prefix, or with the wrong nesting, are ignored', () => {
    const cfg = load({ HTTP__PORT: '1', APP_HTTP_PORT: '2', APP_PORT: '3', app_http__port: '4', OTHER_DATA_DIR: '/x' });
    assert.equal(cfg.http.port, 8080);
    assert.equal(cfg.dataDir, '/var/lib/app');
  });

  test('an empty env value counts as unset', () => {
    assert.equal(load({ APP_HTTP__PORT: '', APP_DATA_DIR: '' }).http.port, 8080);
  });

  test('numbers are coerced', () => {
    const cfg = load({ APP_HTTP__PORT: '443', APP_RATIO: '0.25', APP_MAX_UPLOAD_MB: '12', APP_MQTT__KEEPALIVE_SECONDS: '0' });
    assert.equal(cfg.http.port, 443);
    assert.equal(cfg.ratio, 0.25);
    assert.equal(cfg.maxUploadMb, 12);
    assert.equal(cfg.mqtt.keepaliveSeconds, 0);
  });

  test('booleans are coerced from true/false, 1/0, yes/no, on/off, any case', () => {
    for (const yes of ['true', 'TRUE', '1', 'yes', 'On']) assert.equal(load({ APP_DEBUG: yes }).debug, true, yes);
    for (const no of ['false', 'False', '0', 'no', 'OFF']) assert.equal(load({ APP_DEBUG: no, APP_HTTP__TRUST_PROXY: no }).debug, false, no);
    assert.equal(load({ APP_HTTP__TRUST_PROXY: 'yes' }).http.trustProxy, true);
  });

  test('strings are taken verbatim, even when they look like numbers or JSON', () => {
    assert.equal(load({ APP_DATA_DIR: '123' }).dataDir, '123');
    assert.equal(load({ APP_LABEL: '["x"]' }).label, '["x"]');
  });

  test('arrays are read as JSON from env', () => {
    assert.deepEqual(load({ APP_TAGS: '["a","b c"]' }).tags, ['a', 'b c']);
    assert.deepEqual(load({ APP_TAGS: '[]' }).tags, []);
  });

  test('a config file is merged over defaults and under env', () => {
    const file = writeJson('merge.json', { dataDir: '/from-file', http: { port: 7000, host: '127.0.0.1' }, tags: ['f'] });
    const fromFile = load({}, { file });
    assert.equal(fromFile.dataDir, '/from-file');
    assert.deepEqual(fromFile.http, { port: 7000, host: '127.0.0.1', trustProxy: false });
    assert.deepEqual(fromFile.tags, ['f']);

    const withEnv = load({ APP_HTTP__PORT: '7001', APP_TAGS: '["e"]' }, { file });
    assert.equal(withEnv.http.port, 7001, 'env wins over the file');
    assert.equal(withEnv.http.host, '127.0.0.1', 'the file still supplies siblings of an env-set leaf');
    assert.deepEqual(withEnv.tags, ['e']);
    assert.equal(withEnv.dataDir, '/from-file');
  });

  test('overrides are merged over the file and under env', () => {
    const file = writeJson('overrides.json', { http: { port: 7000, host: '127.0.0.1' } });
    const cfg = load({ APP_HTTP__HOST: '10.0.0.1' }, { file, overrides: { http: { port: 6000, host: 'ignored' }, mode: 'prod' } });
    assert.deepEqual(cfg.http, { port: 6000, host: '10.0.0.1', trustProxy: false });
    assert.equal(cfg.mode, 'prod');
  });

  test('an unreadable or malformed config file is a ValidationError naming the file', () => {
    const missing = join(dir, 'missing.json');
    assert.match(validationMessage(() => load({}, { file: missing })), /missing\.json/);
    const broken = writeJson('broken.json', '{"http": ');
    assert.match(validationMessage(() => load({}, { file: broken })), /broken\.json/);
  });

  test('a bad value in the file is reported with its path and env name', () => {
    const file = writeJson('bad.json', { http: { port: 'eighty' } });
    const message = validationMessage(() => load({}, { file }));
    assert.match(message, /http\.port/);
    assert.match(message, /APP_HTTP__PORT/);
  });

  test('several bad values at once: the error lists every one', () => {
    const env = {
      APP_HTTP__PORT: 'abc', // not a number
      APP_HTTP__TRUST_PROXY: 'maybe', // not a boolean
      APP_MODE: 'staging', // not in the enum
      APP_TAGS: '[1', // not JSON
      APP_MAX_UPLOAD_MB: '-1', // out of range
      APP_RATIO: '1.5', // out of range
      APP_MQTT__KEEPALIVE_SECONDS: '2.5', // not an integer
    };
    let caught: unknown;
    try {
      load(env);
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ValidationError);
    for (const name of Object.keys(env)) assert.ok(caught.message.includes(name), `message should name ${name}:\n${caught.message}`);
    const errors = caught.details?.errors;
    assert.ok(Array.isArray(errors));
    assert.equal(errors.length, Object.keys(env).length);
    assert.match(caught.message, /"abc"/);
    assert.match(caught.message, /"maybe"/);
  });

  test('a bad array element from env is reported under the env variable that was set', () => {
    const message = validationMessage(() => load({ APP_TAGS: '["ok", 2]' }));
    assert.match(message, /APP_TAGS\b/);
    assert.ok(!message.includes('APP_TAGS__1'), `names an env variable that does not exist:\n${message}`);
  });

  test('a blank (whitespace-only) number is refused, not read as 0', () => {
    const message = validationMessage(() => load({ APP_MQTT__KEEPALIVE_SECONDS: '   ' }));
    assert.match(message, /APP_MQTT__KEEPALIVE_SECONDS/);
  });

  test('reads process.env when no env is passed', () => {
    const name = 'EDGELOOP_CONFIG_TEST_UNIQUE_';
    const key = `${name}HTTP__PORT`;
    process.env[key] = '1234';
    try {
      assert.equal(loadConfig(schema, { envPrefix: name }).http.port, 1234);
    } finally {
      delete process.env[key];
    }
  });
});
