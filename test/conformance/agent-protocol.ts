// Messages between the test process and a pod agent, one JSON object per line over the agent's
// unix control socket (a filesystem socket is reachable from any network namespace). One
// request per connection, so replies need no correlation ids.
import type { Protocol } from '../../policy/model.js';

export interface ProbeTarget {
  address: string;
  protocol: Protocol;
  port: number;
}

export type AgentRequest =
  /** One fresh connection per target, all in parallel. */
  | { kind: 'probe'; targets: ProbeTarget[]; timeoutMs: number }
  /** Fresh connections to one target every `intervalMs` for `durationMs`; counts the successes. */
  | { kind: 'storm'; target: ProbeTarget; durationMs: number; intervalMs: number; timeoutMs: number };

export type AgentReply =
  | { kind: 'probe'; connected: boolean[] }
  | { kind: 'storm'; sent: number; connected: number }
  | { kind: 'error'; message: string };

/** Every pod serves TCP, UDP and SCTP on these ports. */
export const SERVED_PORTS = [80, 81] as const;
