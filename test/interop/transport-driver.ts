// Runs inside a test's network namespace (the test process cannot enter one): TCP-MD5
// scenarios between our own endpoints over the namespace's loopback. Prints one JSON line.
import { once } from 'node:events';
import type net from 'node:net';
import {
  BgpSession,
  type Negotiated,
  resolveSessionConfig,
  type SessionConsumer,
  transportDialer,
} from '../../bgp/session/index.js';
import { BgpListener, connectBgp, TransportError } from '../../bgp/transport/index.js';

export interface DriverResult {
  readonly scenario: string;
  readonly ok: boolean;
  /** TransportError code, or what the session reached. */
  readonly outcome: string;
}

async function echoOnce(listener: BgpListener, client: Promise<net.Socket>): Promise<string> {
  const accepted = new Promise<net.Socket>((resolve) =>
    listener.addPeer('127.0.0.1', { password: 'good-key', accept: resolve }),
  );
  const socket = await client;
  const server = await accepted;
  socket.write('ping');
  const [data] = (await once(server, 'data')) as [Buffer];
  socket.destroy();
  server.destroy();
  return data.toString();
}

async function connectOutcome(opts: Parameters<typeof connectBgp>[0]): Promise<string> {
  try {
    const s = await connectBgp(opts);
    s.destroy();
    return 'connected';
  } catch (err) {
    if (err instanceof TransportError) return err.code;
    throw err;
  }
}

async function md5Sessions(activePassword: string): Promise<string> {
  const listener = await BgpListener.open({ address: '127.0.0.1', port: 0 });
  const consumer = (established: (n: Negotiated) => void): SessionConsumer => ({
    onEstablished: established,
    onUpdate: () => {},
    onRouteRefresh: () => {},
    onDown: () => {},
  });
  let passiveUp = false;
  const passive = new BgpSession(
    resolveSessionConfig({
      peerAddress: '127.0.0.1',
      peerAs: 65001,
      localAs: 65002,
      routerId: '192.0.2.2',
      passive: true,
      password: 'session-key',
    }),
    consumer(() => {
      passiveUp = true;
    }),
  );
  listener.addPeer('127.0.0.1', { password: 'session-key', accept: (s) => passive.accept(s) });
  passive.start();
  const activeConfig = resolveSessionConfig({
    peerAddress: '127.0.0.1',
    peerPort: listener.port,
    peerAs: 65002,
    localAs: 65001,
    routerId: '192.0.2.1',
    password: activePassword,
    connectRetry: { baseMs: 5000 },
  });
  let resolveUp: (n: Negotiated) => void = () => {};
  const up = new Promise<Negotiated>((r) => {
    resolveUp = r;
  });
  const active = new BgpSession(activeConfig, consumer(resolveUp), {
    dial: transportDialer(activeConfig, 1500),
  });
  active.start();
  const outcome = await Promise.race([
    up.then(() => 'Established'),
    new Promise<string>((r) =>
      setTimeout(() => r(`${active.state} (${active.status().lastError ?? ''})`), 2500),
    ),
  ]);
  const result = outcome === 'Established' && passiveUp ? 'Established' : outcome;
  await Promise.all([active.stop('test done'), passive.stop('test done')]);
  await listener.close();
  return result;
}

async function run(scenario: string): Promise<DriverResult> {
  switch (scenario) {
    case 'md5-echo': {
      const listener = await BgpListener.open({ address: '127.0.0.1', port: 0 });
      const data = await echoOnce(
        listener,
        connectBgp({ host: '127.0.0.1', port: listener.port, password: 'good-key', localPort: 40179 }),
      );
      await listener.close();
      return { scenario, ok: data === 'ping', outcome: data };
    }
    case 'md5-dual-stack': {
      // An IPv4 peer's key on an IPv6 '::' listener is stored as ::ffff:127.0.0.1.
      const listener = await BgpListener.open({ address: '::', port: 0 });
      const data = await echoOnce(
        listener,
        connectBgp({ host: '127.0.0.1', port: listener.port, password: 'good-key' }),
      );
      await listener.close();
      return { scenario, ok: data === 'ping', outcome: data };
    }
    case 'md5-wrong-key':
    case 'md5-no-key': {
      const listener = await BgpListener.open({ address: '127.0.0.1', port: 0 });
      let accepted = false;
      listener.addPeer('127.0.0.1', {
        password: 'good-key',
        accept: (s) => {
          accepted = true;
          s.destroy();
        },
      });
      const password = scenario === 'md5-wrong-key' ? 'bad-key' : undefined;
      const outcome = await connectOutcome({
        host: '127.0.0.1',
        port: listener.port,
        password,
        timeoutMs: 1000,
      });
      await listener.close();
      return { scenario, ok: !accepted, outcome };
    }
    case 'gtsm': {
      const listener = await BgpListener.open({ address: '127.0.0.1', port: 0, ttlSecurityHops: 1 });
      const data = await echoOnce(
        listener,
        connectBgp({ host: '127.0.0.1', port: listener.port, password: 'good-key', ttlSecurityHops: 1 }),
      );
      await listener.close();
      return { scenario, ok: data === 'ping', outcome: data };
    }
    case 'session-md5':
      return { scenario, ok: true, outcome: await md5Sessions('session-key') };
    case 'session-md5-mismatch':
      return { scenario, ok: true, outcome: await md5Sessions('other-key') };
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

const results: DriverResult[] = [];
for (const scenario of process.argv.slice(2)) results.push(await run(scenario));
process.stdout.write(`${JSON.stringify(results)}\n`);
