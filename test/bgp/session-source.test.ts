// Per-peer source address and port: a session dials from config.localAddress:localPort, on the
// plain connect path and on the raw-socket path a TCP-MD5 key takes. Two of our sessions over
// the loopback (127.0.0.2 is a loopback address too), real sockets and timers.
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  BgpSession,
  type Negotiated,
  resolveSessionConfig,
  type SessionConsumer,
  transportDialer,
} from '../../bgp/session/index.js';
import { BgpListener } from '../../bgp/transport/index.js';

function consumer(onEstablished: (n: Negotiated) => void): SessionConsumer {
  return { onEstablished, onUpdate: () => {}, onRouteRefresh: () => {}, onDown: () => {} };
}

/** A port nobody listens on at the moment, on this address. */
async function freePort(address: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('bgp session: per-peer source address and port', function () {
  this.timeout(10_000);
  let listener: BgpListener | undefined;
  const sessions: BgpSession[] = [];

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.stop('test over')));
    await listener?.close();
    listener = undefined;
  });

  for (const [path, password] of [
    ['plain connect', undefined],
    ['TCP-MD5 raw socket', 'source-key'],
  ] as const) {
    it(`dials from the configured address and port (${path})`, async () => {
      const source = { address: '127.0.0.2', port: await freePort('127.0.0.2') };
      listener = await BgpListener.open({ address: '127.0.0.1', port: 0 });
      const passiveUp = new Promise<Negotiated>((resolve) => {
        const passive = new BgpSession(
          resolveSessionConfig({
            peerAddress: source.address,
            peerAs: 65001,
            localAs: 65002,
            routerId: '192.0.2.2',
            passive: true,
            password,
          }),
          consumer(resolve),
        );
        sessions.push(passive);
        listener?.addPeer(source.address, { password, accept: (s) => passive.accept(s) });
        passive.start();
      });
      const config = resolveSessionConfig({
        peerAddress: '127.0.0.1',
        peerPort: listener.port,
        peerAs: 65002,
        localAs: 65001,
        routerId: '192.0.2.1',
        localAddress: source.address,
        localPort: source.port,
        password,
      });
      const activeUp = new Promise<Negotiated>((resolve) => {
        const active = new BgpSession(config, consumer(resolve), {
          dial: transportDialer(config, { timeoutMs: 2000 }),
        });
        sessions.push(active);
        active.start();
      });
      const [passive, active] = await Promise.all([passiveUp, activeUp]);
      assert.deepEqual([passive.remoteAddress, passive.remotePort], [source.address, source.port]);
      assert.deepEqual([active.localAddress, active.localPort], [source.address, source.port]);
    });
  }
});
