import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIp, parseIp } from '../../policy/cidr.js';
import { parsePodAddress } from '../../policy/pod-address.js';

function viaGeneralParser(text: string) {
  const addr = parseIp(text);
  return addr === undefined ? undefined : { family: addr.family, value: addr.value, text: formatIp(addr) };
}

const octetText = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map(String),
  fc.constantFrom('00', '01', '007', '-1', '', ' 1', '1e2', '0x1'),
);

describe('policy/pod-address', () => {
  it('agrees with parseIp + formatIp on dotted-quad-like text (property)', () => {
    fc.assert(
      fc.property(fc.tuple(octetText, octetText, octetText, octetText), (parts) => {
        const text = parts.join('.');
        assert.deepEqual(parsePodAddress(text), viaGeneralParser(text), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with parseIp + formatIp on IPv6 and arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV4Extended(), fc.string()), (text) => {
        assert.deepEqual(parsePodAddress(text), viaGeneralParser(text), text);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses the ends of the IPv4 range', () => {
    assert.deepEqual(parsePodAddress('0.0.0.0'), { family: 4, value: 0n, text: '0.0.0.0' });
    assert.deepEqual(parsePodAddress('255.255.255.255'), {
      family: 4,
      value: 0xffffffffn,
      text: '255.255.255.255',
    });
    assert.equal(parsePodAddress('256.0.0.1'), undefined);
  });
});
