import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { REDACT_PATHS } from '../src/index.js';

const SECRETS = {
  password: 'hunter2-password',
  token: 'tok-123456',
  secret: 'shh-secret',
  privateKey: 'PRIVATE-KEY-MATERIAL',
  privateKeyPem: '-----BEGIN PRIVATE KEY-----abc',
  authorization: 'Bearer abc.def.ghi',
  cookie: 'session=deadbeef',
};

/** Objects logged the way the apps log them, each hiding secrets in the shapes REDACT_PATHS covers. */
const SAMPLES: Record<string, unknown>[] = [
  { password: SECRETS.password, token: SECRETS.token, secret: SECRETS.secret, user: 'alice' },
  { privateKey: SECRETS.privateKey, privateKeyPem: SECRETS.privateKeyPem, cookie: SECRETS.cookie, authorization: SECRETS.authorization },
  { login: { user: 'alice', password: SECRETS.password }, mqtt: { token: SECRETS.token }, signer: { privateKey: SECRETS.privateKey } },
  { key: { privateKeyPem: SECRETS.privateKeyPem, secret: SECRETS.secret }, headers: { authorization: SECRETS.authorization } },
  { req: { method: 'GET', url: '/x', headers: { authorization: SECRETS.authorization, cookie: SECRETS.cookie, host: 'hub' } } },
  { upstream: { authorization: SECRETS.authorization, cookie: SECRETS.cookie } },
];

function captureLines(log: (logger: pino.Logger) => void): Record<string, unknown>[] {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  const logger = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream);
  log(logger);
  for (const secret of Object.values(SECRETS)) assert.ok(!out.includes(secret), `secret ${secret} reached the log:\n${out}`);
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('REDACT_PATHS', () => {
  test('covers password, token, secret, private keys, authorization and cookies', () => {
    for (const p of ['password', 'token', 'secret', 'privateKey', 'privateKeyPem', 'authorization', 'cookie', 'req.headers.authorization', 'req.headers.cookie']) {
      assert.ok(REDACT_PATHS.includes(p), p);
    }
  });

  test('no secret value reaches the output, at top level or one level down', () => {
    const lines = captureLines((log) => {
      for (const s of SAMPLES) log.info(s, 'sample');
    });
    assert.equal(lines.length, SAMPLES.length);
  });

  test('redacted fields keep their key with the censor value; other fields are untouched', () => {
    const [first, , third, , fifth] = captureLines((log) => {
      for (const s of SAMPLES) log.info(s);
    });
    assert.equal(first?.password, '[redacted]');
    assert.equal(first?.token, '[redacted]');
    assert.equal(first?.user, 'alice');
    assert.deepEqual(third?.login, { user: 'alice', password: '[redacted]' });
    assert.deepEqual(fifth?.req, { method: 'GET', url: '/x', headers: { authorization: '[redacted]', cookie: '[redacted]', host: 'hub' } });
  });

  test('the message text itself is not redacted (only fields are)', () => {
    const [line] = captureLines((log) => log.info({ password: SECRETS.password }, 'login attempt'));
    assert.equal(line?.msg, 'login attempt');
  });
});

describe('createLogger', () => {
  // createLogger writes to stdout (fd 1) and takes no destination, so it runs in a child process.
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const loggerModule = new URL('../src/log/logger.ts', import.meta.url).href;

  function runChild(body: string): { stdout: string; lines: Record<string, unknown>[] } {
    const code = `import { createLogger } from ${JSON.stringify(loggerModule)};\n${body}`;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const stdout = res.stdout;
    return { stdout, lines: stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
  }

  test('writes JSON lines tagged with the app name, redacts secrets and honours the level', () => {
    const samples = JSON.stringify(SAMPLES);
    const { stdout, lines } = runChild(`
      const log = createLogger({ name: 'hub-test' });
      for (const s of ${samples}) log.info(s, 'sample');
      log.debug({ password: 'x' }, 'hidden at info level');
      const verbose = createLogger({ name: 'agent-test', level: 'debug' });
      verbose.debug({ token: ${JSON.stringify(SECRETS.token)} }, 'shown at debug level');
      createLogger({ name: 'quiet', level: 'silent' }).error('never printed');
    `);
    for (const secret of Object.values(SECRETS)) assert.ok(!stdout.includes(secret), `secret ${secret} reached the log:\n${stdout}`);
    assert.equal(lines.length, SAMPLES.length + 1);
    // Each logger has its own buffered destination, so the two loggers' lines may interleave in any order.
    const hubLines = lines.filter((l) => l.app === 'hub-test');
    assert.equal(hubLines.length, SAMPLES.length);
    const first = hubLines[0];
    assert.equal(first?.app, 'hub-test');
    assert.equal(first?.name, 'hub-test');
    assert.equal(first?.level, 30);
    assert.equal(first?.msg, 'sample');
    assert.equal(first?.password, '[redacted]');
    assert.equal(first?.user, 'alice');
    const agentLines = lines.filter((l) => l.app === 'agent-test');
    assert.equal(agentLines.length, 1);
    const last = agentLines[0];
    assert.equal(last?.level, 20);
    assert.equal(last?.token, '[redacted]');
    assert.ok(!stdout.includes('hidden at info level'));
    assert.ok(!stdout.includes('never printed'));
  });
});
