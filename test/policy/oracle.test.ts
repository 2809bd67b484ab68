import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicies } from '../../policy/compile.js';
import { evaluatePacket } from '../../policy/evaluate.js';
import type { ClusterState, Protocol } from '../../policy/model.js';
import { clusterArb, EXTERNAL_IPS, PORTS } from './arbitraries.js';
import { type Conn, egressAllowed, ingressAllowed } from './oracle.js';

const connArb = (state: ClusterState) => {
  const addresses = [...state.pods.flatMap((p) => p.podIPs), ...EXTERNAL_IPS];
  return fc
    .record({
      src: fc.constantFrom(...addresses),
      dst: fc.constantFrom(...addresses),
      protocol: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'),
      port: fc.constantFrom(...PORTS),
    })
    .filter((c) => c.src.includes(':') === c.dst.includes(':'));
};

/** What this node must decide: the sender's egress if it is local, the receiver's ingress if local. */
function expected(state: ClusterState, conn: Conn): boolean {
  const owner = (ip: string) => state.pods.find((p) => p.podIPs.includes(ip));
  const src = owner(conn.src);
  const dst = owner(conn.dst);
  const egressOk = src?.hostInterface === undefined || egressAllowed(state, src, conn);
  const ingressOk = dst?.hostInterface === undefined || ingressAllowed(state, dst, conn);
  return egressOk && ingressOk;
}

describe('policy/compile against the reference evaluator (property)', () => {
  it('the IR decides every connection exactly as the spec does', () => {
    fc.assert(
      fc.property(
        clusterArb.chain((state) =>
          fc.tuple(fc.constant(state), fc.array(connArb(state), { minLength: 1, maxLength: 25 })),
        ),
        ([state, conns]) => {
          const ir = compilePolicies(state);
          for (const conn of conns) {
            const owner = (ip: string) => state.pods.find((p) => p.podIPs.includes(ip));
            const inIface = owner(conn.src)?.hostInterface;
            const outIface = owner(conn.dst)?.hostInterface;
            const verdict = evaluatePacket(ir, {
              ...conn,
              ...(inIface !== undefined && { inIface }),
              ...(outIface !== undefined && { outIface }),
            });
            assert.equal(
              verdict === 'allow',
              expected(state, conn),
              `${JSON.stringify(conn)} got ${verdict}`,
            );
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
