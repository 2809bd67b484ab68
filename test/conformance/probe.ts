// Probing a matrix: the cells are grouped by source pod and every pod agent probes its batch in
// parallel, each probe a fresh connection (TCP handshake, UDP request/reply, SCTP INIT/INIT-ACK).
import type { AgentClient } from './agent-client.js';
import { type Cell, cellKey, type Matrix, mismatches } from './matrix.js';
import type { World } from './world.js';
import { podId } from './world.js';

/** Long enough for a reply on an idle veth, short enough that a denied cell costs little. */
export const PROBE_TIMEOUT_MS = 400;
/** The retry of a mismatching cell gives a slow (loaded) machine more time. */
export const RETRY_TIMEOUT_MS = 1500;

export async function probeCells(
  agents: ReadonlyMap<string, AgentClient>,
  world: World,
  cells: readonly Cell[],
  timeoutMs: number,
): Promise<Matrix> {
  const address = new Map(world.pods.map((p) => [podId(p), p.podIPs[0]!]));
  const bySource = new Map<string, Cell[]>();
  for (const c of cells) bySource.set(c.from, [...(bySource.get(c.from) ?? []), c]);
  const result = new Map<string, boolean>();
  await Promise.all(
    [...bySource].map(async ([from, batch]) => {
      const agent = agents.get(from);
      if (agent === undefined) throw new Error(`no agent for ${from}`);
      const connected = await agent.probe(
        batch.map((c) => ({ address: address.get(c.to)!, ...c.service })),
        timeoutMs,
      );
      for (const [i, c] of batch.entries()) result.set(cellKey(c), connected[i]!);
    }),
  );
  return result;
}

export interface ProbeOutcome {
  actual: Matrix;
  /** Cells that mismatched on the first pass (re-probed once). */
  retried: number;
}

/** Probes every cell; cells that disagree with `expected` are probed once more, as upstream does. */
export async function probeAgainst(
  agents: ReadonlyMap<string, AgentClient>,
  world: World,
  cells: readonly Cell[],
  expected: Matrix,
): Promise<ProbeOutcome> {
  const first = await probeCells(agents, world, cells, PROBE_TIMEOUT_MS);
  const wrong = mismatches(cells, expected, first);
  if (wrong.length === 0) return { actual: first, retried: 0 };
  const second = await probeCells(agents, world, wrong, RETRY_TIMEOUT_MS);
  return { actual: new Map([...first, ...second]), retried: wrong.length };
}
