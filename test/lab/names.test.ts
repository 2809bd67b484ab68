import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LabInputError } from '../../src/lab/errors.js';
import {
  MAX_IFNAME_LENGTH,
  makeRunPrefix,
  markerFor,
  namespaceName,
  parseMarker,
  prefixOfNamespace,
  validateIfname,
  validateName,
  validatePrefix,
} from '../../src/lab/names.js';

describe('lab names', () => {
  it('makeRunPrefix is t + base36 pid + 2 random chars, at most 8 chars', () => {
    for (const pid of [1, 35, 36, 4194304, process.pid]) {
      const prefix = makeRunPrefix(pid);
      assert.match(prefix, new RegExp(`^t${pid.toString(36)}[0-9a-z]{2}$`));
      assert.ok(prefix.length <= 8, prefix);
      assert.equal(validatePrefix(prefix), prefix);
    }
  });

  it('a prefix leaves room for 7 more chars in an interface name', () => {
    assert.ok(makeRunPrefix(4194304).length + 7 <= MAX_IFNAME_LENGTH);
  });

  it('makeRunPrefix varies between calls for the same pid', () => {
    const seen = new Set(Array.from({ length: 50 }, () => makeRunPrefix(1234)));
    assert.ok(seen.size > 1);
  });

  it('prefixOfNamespace inverts namespaceName', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/),
        (prefix, name) => prefixOfNamespace(namespaceName(prefix, name)) === prefix,
      ),
    );
  });

  it('prefixOfNamespace rejects names outside the scheme', () => {
    for (const ns of ['plain', 'Upper-x', 'toolongprefix-x', '-x', 'ab-', 'ab-_x']) {
      assert.equal(prefixOfNamespace(ns), undefined, ns);
    }
  });

  it('markers round-trip and other aliases are not markers', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^\/[a-z0-9/._-]{1,60}$/),
        (path) => parseMarker(markerFor(path)) === path,
      ),
    );
    for (const alias of ['', 'trellis-lab:', 'uplink to tor', 'trellis-lab /run/x.json']) {
      assert.equal(parseMarker(alias), undefined, alias);
    }
  });

  it('rejects bad prefixes, names and interface names with LabInputError', () => {
    for (const p of ['', 'T1', '1abc', 'abcdefghi', 'a-b', 'a b']) {
      assert.throws(() => validatePrefix(p), LabInputError, p);
    }
    for (const n of ['', '-x', 'a/b', 'a b', 'x'.repeat(64)]) {
      assert.throws(() => validateName(n), LabInputError, n);
    }
    for (const i of ['', '.', '..', 'a/b', 'a b', 'x'.repeat(16), 'eth0:1']) {
      assert.throws(() => validateIfname(i), LabInputError, i);
    }
    assert.equal(validateIfname('x'.repeat(15)), 'x'.repeat(15));
  });
});
