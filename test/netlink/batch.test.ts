import assert from 'node:assert/strict';
import fc from 'fast-check';
import { attrU32, decodeMessages } from '../../src/netlink/codec.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST } from '../../src/netlink/constants.js';
import { makeRequest, RequestBatch } from '../../src/netlink/socket.js';

const request = (i: number) =>
  makeRequest(24, NLM_F_CREATE, Buffer.alloc(12, i & 0xff), [attrU32(15, i)], `r${i}`);

describe('netlink/RequestBatch', () => {
  it('lays requests back to back and stamps seq and the ACK flag idempotently', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 0, max: 0xffffffff }), (n, seq0) => {
        const batch = new RequestBatch((i) => `r${i}`);
        for (let i = 0; i < n; i++) batch.add(request(i));
        assert.equal(batch.count, n);
        const last = n - 1;
        for (let i = 0; i < n; i++) batch.stamp(i, seq0 + i, i === last);
        batch.stamp(last, seq0 + last, true); // stamping twice changes nothing
        const msgs = decodeMessages(batch.bytes(0, n));
        assert.equal(msgs.length, n);
        msgs.forEach((m, i) => {
          assert.equal(m.type, 24);
          assert.equal(m.seq, (seq0 + i) >>> 0);
          assert.equal(m.flags, NLM_F_REQUEST | NLM_F_CREATE | (i === last ? NLM_F_ACK : 0));
          assert.equal(m.payload.readUInt32LE(16), i, 'the attribute of request i');
        });
        assert.equal(batch.offset(n), batch.bytes(0, n).length);
      }),
      { numRuns: 30 },
    );
  });

  it('clears a previous ACK when a message is re-stamped as not last', () => {
    const batch = new RequestBatch((i) => `r${i}`);
    batch.add(request(1));
    batch.stamp(0, 5, true);
    batch.stamp(0, 6, false);
    assert.equal(decodeMessages(batch.bytes(0, 1))[0]!.flags & NLM_F_ACK, 0);
  });

  it('names a request for errors only through describe', () => {
    const described: number[] = [];
    const batch = new RequestBatch((i) => {
      described.push(i);
      return `route #${i}`;
    });
    batch.add(request(0));
    batch.add(request(1));
    batch.stamp(1, 77, true);
    assert.deepEqual(described, []);
    assert.deepEqual(batch.info(1), {
      type: 24,
      typeName: 'RTM_NEWROUTE',
      flags: NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK,
      seq: 77,
      what: 'route #1',
    });
    assert.deepEqual(described, [1]);
  });
});
