// The one long-running process in each conformance pod namespace: it serves TCP and UDP on ports
// 80 and 81, answers SCTP INITs to those ports with an INIT-ACK over a raw socket, and probes
// other pods on request from the test process (agent-protocol.ts over a unix socket).
// Usage: node pod-agent.js <control socket path> <pod IPv4 address>
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { unlinkSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { type AgentReply, type AgentRequest, type ProbeTarget, SERVED_PORTS } from './agent-protocol.js';
import { RawSctpSocket } from './raw-sctp-socket.js';
import { CHUNK_INIT, CHUNK_INIT_ACK, decodeSctp, encodeSctp, SctpDecodeError } from './sctp.js';

const [controlPath, podIp] = process.argv.slice(2);
if (controlPath === undefined || podIp === undefined) {
  console.error('usage: pod-agent <control socket path> <pod IPv4 address>');
  process.exit(2);
}

// Probe source ports come from a private counter below the kernel's ephemeral range, so every
// probe is a new 5-tuple: a conntrack entry of an earlier, allowed probe can never carry it.
const FIRST_SOURCE_PORT = 10000;
const SOURCE_PORTS = 22000;
let nextPort = randomInt(SOURCE_PORTS);
const sourcePort = (): number => FIRST_SOURCE_PORT + (nextPort++ % SOURCE_PORTS);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// --- servers -------------------------------------------------------------------------------

async function serveTcp(port: number): Promise<void> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', resolve);
  });
}

async function serveUdp(port: number): Promise<void> {
  const sock = createSocket('udp4');
  sock.on('message', (msg, from) => sock.send(msg, from.port, from.address));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, '0.0.0.0', resolve);
  });
}

const raw = RawSctpSocket.open();
/** SCTP probes waiting for their INIT-ACK, by "peer|peer port|our port|our tag". */
const pendingSctp = new Map<string, () => void>();
const sctpKey = (peer: string, peerPort: number, ourPort: number, tag: number): string =>
  `${peer}|${peerPort}|${ourPort}|${tag}`;

function onSctp(source: string, destination: string, bytes: Buffer): void {
  let packet: ReturnType<typeof decodeSctp>;
  try {
    packet = decodeSctp(bytes);
  } catch (err) {
    if (err instanceof SctpDecodeError) return; // not ours to answer
    throw err;
  }
  const c = packet.chunk;
  if (c.type === CHUNK_INIT && destination === podIp && SERVED_PORTS.some((p) => p === packet.dstPort)) {
    raw.send(
      source,
      encodeSctp({
        srcPort: packet.dstPort,
        dstPort: packet.srcPort,
        verificationTag: c.initiateTag,
        chunk: {
          type: CHUNK_INIT_ACK,
          initiateTag: randomInt(1, 2 ** 32 - 1),
          arwnd: 65536,
          outboundStreams: Math.min(c.inboundStreams, 1),
          inboundStreams: 1,
          initialTsn: randomInt(2 ** 32 - 1),
          // Opaque to the peer; this server never completes the association (no COOKIE-ECHO).
          stateCookie: Buffer.from(`trellis-conformance ${podIp}:${packet.dstPort}`),
        },
      }),
    );
  } else if (c.type === CHUNK_INIT_ACK) {
    pendingSctp.get(sctpKey(source, packet.srcPort, packet.dstPort, packet.verificationTag))?.();
  }
}

// --- probes --------------------------------------------------------------------------------

function probeTcp(t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect({
      host: t.address,
      port: t.port,
      localAddress: podIp,
      localPort: sourcePort(),
    });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      // RST instead of FIN: no TIME_WAIT, the conntrack entry closes at once.
      if (!s.destroyed) s.resetAndDestroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function probeUdp(t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const payload = Buffer.from(`probe ${randomInt(2 ** 32)}`);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('message', (msg, from) => {
      if (from.address === t.address && from.port === t.port && msg.equals(payload)) done(true);
    });
    sock.bind(sourcePort(), podIp, () => sock.send(payload, t.port, t.address));
  });
}

function probeSctp(t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const port = sourcePort();
    const tag = randomInt(1, 2 ** 32 - 1);
    const key = sctpKey(t.address, t.port, port, tag);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      pendingSctp.delete(key);
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    pendingSctp.set(key, () => done(true));
    raw.send(
      t.address,
      encodeSctp({
        srcPort: port,
        dstPort: t.port,
        verificationTag: 0,
        chunk: {
          type: CHUNK_INIT,
          initiateTag: tag,
          arwnd: 65536,
          outboundStreams: 1,
          inboundStreams: 1,
          initialTsn: randomInt(2 ** 32 - 1),
        },
      }),
    );
  });
}

const PROBES = { TCP: probeTcp, UDP: probeUdp, SCTP: probeSctp } as const;
const probe = (t: ProbeTarget, timeoutMs: number): Promise<boolean> => PROBES[t.protocol](t, timeoutMs);

async function handle(req: AgentRequest): Promise<AgentReply> {
  if (req.kind === 'probe') {
    return { kind: 'probe', connected: await Promise.all(req.targets.map((t) => probe(t, req.timeoutMs))) };
  }
  const probes: Promise<boolean>[] = [];
  const end = Date.now() + req.durationMs;
  while (Date.now() < end) {
    probes.push(probe(req.target, req.timeoutMs));
    await sleep(req.intervalMs);
  }
  const results = await Promise.all(probes);
  return { kind: 'storm', sent: results.length, connected: results.filter(Boolean).length };
}

// --- control -------------------------------------------------------------------------------

function serveControl(path: string): void {
  const control = createServer((conn) => {
    conn.setEncoding('utf8');
    conn.on('error', () => {});
    let buffered = '';
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        handle(JSON.parse(line) as AgentRequest)
          .catch((err: unknown): AgentReply => ({ kind: 'error', message: String(err) }))
          .then((reply) => conn.write(`${JSON.stringify(reply)}\n`));
      }
    });
  });
  // The control socket appears last: once it accepts, every server is listening.
  control.listen(path);
}

async function main(): Promise<void> {
  await Promise.all(SERVED_PORTS.flatMap((p) => [serveTcp(p), serveUdp(p)]));
  void raw.receiveLoop((d) => onSctp(d.source, d.destination, d.sctp));
  serveControl(controlPath!);
  const stop = () => {
    raw.close();
    try {
      unlinkSync(controlPath!);
    } catch {
      // already gone
    }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
