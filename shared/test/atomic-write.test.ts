import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fsyncDir, writeFileAtomic, writeJsonAtomic } from '../src/index.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-atomic-test-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function assertNoTempFiles(dir: string): Promise<void> {
  const leftovers = (await readdir(dir)).filter((f) => f.startsWith('.') || f.endsWith('.tmp'));
  assert.deepEqual(leftovers, [], `temp files left in ${dir}`);
}

describe('writeFileAtomic', () => {
  test('creates missing parent directories', async () => {
    const path = join(root, 'a', 'b', 'c', 'file.txt');
    await writeFileAtomic(path, 'hello');
    assert.equal(await readFile(path, 'utf8'), 'hello');
    await assertNoTempFiles(join(root, 'a', 'b', 'c'));
  });

  test('replaces existing content completely (a shorter write leaves no tail)', async () => {
    const path = join(root, 'replace.txt');
    await writeFileAtomic(path, 'a much longer first version');
    await writeFileAtomic(path, 'v2');
    assert.equal(await readFile(path, 'utf8'), 'v2');
    await assertNoTempFiles(root);
  });

  test('writes Buffers and Uint8Arrays byte for byte', async () => {
    const path = join(root, 'bytes.bin');
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x0d]);
    await writeFileAtomic(path, bytes);
    assert.deepEqual(await readFile(path), bytes);
    await writeFileAtomic(path, new Uint8Array([9, 8, 7]));
    assert.deepEqual([...(await readFile(path))], [9, 8, 7]);
  });

  test('writes an empty file', async () => {
    const path = join(root, 'empty.txt');
    await writeFileAtomic(path, '');
    assert.equal((await stat(path)).size, 0);
  });

  test('many writes to the same directory leave only the target files', async () => {
    const dir = join(root, 'many');
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(join(dir, `f${i % 5}.txt`), `content ${i}`)));
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt']);
    for (const f of files) assert.match(await readFile(join(dir, f), 'utf8'), /^content \d+$/);
  });

  test('a failed rename rejects and removes its temp file', async () => {
    const dir = join(root, 'rename-fails');
    const target = join(dir, 'target');
    await mkdir(join(target, 'child'), { recursive: true }); // renaming a file over a non-empty directory fails
    await assert.rejects(writeFileAtomic(target, 'x'));
    assert.deepEqual(await readdir(dir), ['target']);
  });

  test('a failed write rejects and removes its temp file', async () => {
    const dir = join(root, 'write-fails');
    await mkdir(dir);
    // Data fs cannot write: the temp file is already open when the write throws.
    await assert.rejects(writeFileAtomic(join(dir, 'target'), 42 as unknown as string));
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('writeJsonAtomic', () => {
  test('writes pretty JSON with a trailing newline', async () => {
    const path = join(root, 'json', 'value.json');
    await writeJsonAtomic(path, { a: 1, b: [true, null] });
    const text = await readFile(path, 'utf8');
    assert.equal(text, '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}\n');
    assert.deepEqual(JSON.parse(text), { a: 1, b: [true, null] });
    await assertNoTempFiles(join(root, 'json'));
  });
});

describe('fsyncDir', () => {
  test('succeeds on a directory and rejects on a missing one', async () => {
    await fsyncDir(root);
    await assert.rejects(fsyncDir(join(root, 'does-not-exist')), { code: 'ENOENT' });
  });
});
