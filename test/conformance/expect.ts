// Expected reachability, computed without the compiler: test/policy/oracle.ts is an evaluator
// written from the NetworkPolicy API documentation that shares no code with policy/ (it imports
// only the model's types). A connection gets through when the source's egress and the
// destination's ingress both allow it.

import type { NetworkPolicy } from '../../policy/model.js';
import { egressAllowed, ingressAllowed } from '../policy/oracle.js';
import { allCells, cellKey, type Matrix } from './matrix.js';
import { clusterState, podId, type World } from './world.js';

export function expectedMatrix(world: World, policies: readonly NetworkPolicy[]): Matrix {
  const state = clusterState(world, policies);
  const byId = new Map(world.pods.map((p) => [podId(p), p]));
  const m = new Map<string, boolean>();
  for (const cell of allCells([...byId.keys()])) {
    const src = byId.get(cell.from)!;
    const dst = byId.get(cell.to)!;
    const conn = { src: src.podIPs[0]!, dst: dst.podIPs[0]!, ...cell.service };
    m.set(cellKey(cell), egressAllowed(state, src, conn) && ingressAllowed(state, dst, conn));
  }
  return m;
}
