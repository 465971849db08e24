import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalBytes, canonicalize } from '../src/index.js';

describe('canonicalize (RFC 8785)', () => {
  test('sorts object keys and emits no whitespace', () => {
    assert.equal(canonicalize({ b: 2, a: 1, c: { z: true, y: null } }), '{"a":1,"b":2,"c":{"y":null,"z":true}}');
  });

  test('the same content in any key order gives the same bytes', () => {
    const a = { version: 3, label: 'x', files: [{ size: 1, name: 'n' }] };
    const b = { files: [{ name: 'n', size: 1 }], label: 'x', version: 3 };
    assert.equal(canonicalize(a), canonicalize(b));
  });

  test('orders keys by UTF-16 code units, including non-ASCII keys', () => {
    // The key set of RFC 8785 §3.2.3: U+20AC, CR, U+FB33, "1", U+1F600 (surrogate pair D83D DE00), U+0080, "ö".
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    assert.equal(
      canonicalize(value),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // Code-point order would put the emoji (U+1F600) after U+FB33; UTF-16 order puts it before.
    assert.equal(canonicalize({ '\ufb33': 1, '\ud83d\ude00': 2 }), '{"\ud83d\ude00":2,"\ufb33":1}');
  });

  test('is not locale-sensitive: uppercase sorts before lowercase', () => {
    assert.equal(canonicalize({ b: 1, B: 2, a: 3, A: 4 }), '{"A":4,"B":2,"a":3,"b":1}');
  });

  test('formats numbers as ECMAScript Number.prototype.toString does', () => {
    assert.equal(canonicalize(1e21), '1e+21');
    assert.equal(canonicalize(1e20), '100000000000000000000');
    assert.equal(canonicalize(1e-7), '1e-7');
    assert.equal(canonicalize(0.000001), '0.000001');
    assert.equal(canonicalize(-0), '0');
    assert.equal(canonicalize(0.1 + 0.2), '0.30000000000000004');
    assert.equal(canonicalize(4.5), '4.5');
    assert.equal(canonicalize(-1.5e-300), '-1.5e-300');
    assert.equal(canonicalize(123e-20), '1.23e-18');
    assert.equal(canonicalize(2 ** 53 + 1), '9007199254740992');
    assert.equal(canonicalize([1.0, 10, 100.0]), '[1,10,100]');
  });

  test('refuses numbers JSON cannot express', () => {
    assert.throws(() => canonicalize(Number.NaN));
    assert.throws(() => canonicalize(Number.POSITIVE_INFINITY));
    assert.throws(() => canonicalize({ a: Number.NEGATIVE_INFINITY }));
  });

  test('escapes control characters as lowercase \\u00XX, with the short forms where JSON has them', () => {
    assert.equal(canonicalize('\u0000'), '"\\u0000"');
    assert.equal(canonicalize('\u001f'), '"\\u001f"');
    assert.equal(canonicalize('\u000b'), '"\\u000b"');
    assert.equal(canonicalize('\n\r\t\b\f'), '"\\n\\r\\t\\b\\f"');
    assert.equal(canonicalize('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
  });

  test('does not escape non-ASCII or characters above U+001F', () => {
    assert.equal(canonicalize('€'), '"€"');
    assert.equal(canonicalize('\u007f'), '"\u007f"');
    assert.equal(canonicalize('\u2028'), '"\u2028"');
    assert.equal(canonicalize('😀 é /'), '"😀 é /"');
  });

  test('serializes nested arrays and objects', () => {
    const value = { z: [3, [2, { y: 1, x: [] }], {}], a: { c: [null, false], b: 'ß' } };
    assert.equal(canonicalize(value), '{"a":{"b":"ß","c":[null,false]},"z":[3,[2,{"x":[],"y":1}],{}]}');
  });

  test('the RFC 8785 §3.2.2 sample', () => {
    const value = {
      numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 1e-27],
      string: '\u20ac$\u000f\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    assert.equal(
      canonicalize(value),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  test('omits undefined object members and maps undefined array items to null, like JSON', () => {
    assert.equal(canonicalize({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalize([undefined]), '[null]');
  });

  test('canonicalize(undefined) throws', () => {
    assert.throws(() => canonicalize(undefined), TypeError);
  });

  test('canonicalBytes is the UTF-8 of the canonical string', () => {
    const bytes = canonicalBytes({ '€': 1 });
    assert.ok(Buffer.isBuffer(bytes));
    assert.deepEqual([...bytes], [...Buffer.from('{"€":1}', 'utf8')]);
    assert.equal(bytes.length, 9);
  });
});
