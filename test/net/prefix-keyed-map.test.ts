// PrefixKeyedMap against a plain Map keyed by prefix text: same answers for any sequence of
// operations, over IPv4 keys (address * 64 + length, addresses across the whole 32-bit range,
// so the int32 filing wraps negative) and text keys side by side.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ipv4PrefixKey, type PrefixKey, PrefixKeyedMap, prefixText } from '../../src/net/index.js';
import { scanCanonicalIPv4Cidr } from '../../src/netlink/index.js';

const v4Text = (address: number, length: number): string =>
  `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}/${length}`;

/** A small pool, so operations hit the same prefixes again. */
const keyArb = fc.oneof(
  fc
    .record({
      address: fc.constantFrom(0, 1, 0x0a000000, 0x7fffffff, 0x80000000, 0xc0a80100, 0xffffffff),
      length: fc.constantFrom(0, 8, 24, 32),
    })
    .map(({ address, length }) => ({
      key: ipv4PrefixKey(address, length) as PrefixKey,
      text: v4Text(address, length),
    })),
  fc.constantFrom('2001:db8::/32', '::/0', 'fd00::1/128').map((text) => ({ key: text as PrefixKey, text })),
);

const opArb = fc.record({ kind: fc.constantFrom('set', 'delete', 'get'), at: keyArb, value: fc.integer() });

describe('src/net PrefixKeyedMap', () => {
  it('behaves as a Map keyed by prefix text for any sequence of set, delete and get; entries give the keys back as text', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const map = new PrefixKeyedMap<number>();
        const model = new Map<string, number>();
        for (const { kind, at, value } of ops) {
          if (kind === 'set') {
            map.set(at.key, value);
            model.set(at.text, value);
          } else if (kind === 'delete') {
            assert.equal(map.delete(at.key), model.delete(at.text));
          }
          assert.equal(map.get(at.key), model.get(at.text));
          assert.equal(map.size, model.size);
        }
        assert.deepEqual([...map.values()].sort(), [...model.values()].sort());
        const byText = [...map.entries()].map(([key, value]) => [prefixText(key), value]);
        assert.deepEqual(byText.sort(), [...model.entries()].sort());
      }),
    );
  });

  it('uses the same IPv4 key as scanCanonicalIPv4Cidr, so text and numbers meet', () => {
    assert.equal(ipv4PrefixKey(0xc0a80100, 24), scanCanonicalIPv4Cidr('192.168.1.0/24'));
    assert.equal(ipv4PrefixKey(0xffffffff, 32), scanCanonicalIPv4Cidr('255.255.255.255/32'));
    const map = new PrefixKeyedMap<string>();
    map.set(scanCanonicalIPv4Cidr('10.0.0.0/8'), 'a');
    map.set(scanCanonicalIPv4Cidr('10.0.0.0/9'), 'b');
    assert.deepEqual(
      [map.get(ipv4PrefixKey(0x0a000000, 8)), map.get(ipv4PrefixKey(0x0a000000, 9))],
      ['a', 'b'],
    );
  });
});
