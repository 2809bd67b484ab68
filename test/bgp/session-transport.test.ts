// TCP-MD5 and GTSM between our own endpoints, on the loopback of a namespace this test creates.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import {
  BgpSession,
  type Negotiated,
  resolveSessionConfig,
  type SessionConsumer,
  transportDialer,
} from '../../bgp/session/index.js';
import {
  BgpListener,
  ConnectTimeoutError,
  connectBgp,
  encodeMd5Sig,
  encodeSockaddr,
  TCP_MD5SIG_SIZE,
  TransportError,
  TransportInputError,
} from '../../bgp/transport/index.js';
import { Lab, requireRoot } from '../../src/lab/index.js';

describe('bgp transport: layouts', () => {
  it('encodes sockaddr_in and sockaddr_in6 in kernel layout', () => {
    assert.equal(encodeSockaddr('192.0.2.1', 179).toString('hex'), `0200${'00b3'}c0000201${'00'.repeat(8)}`);
    const v6 = encodeSockaddr('2001:db8::1', 179);
    assert.equal(v6.length, 28);
    assert.equal(v6.subarray(0, 4).toString('hex'), '0a0000b3');
    assert.equal(v6.subarray(8, 24).toString('hex'), '20010db8000000000000000000000001');
  });

  it('maps an IPv4 peer to ::ffff:a.b.c.d on an IPv6 socket', () => {
    const mapped = encodeSockaddr('192.0.2.1', 0, 10);
    assert.equal(mapped.subarray(8, 24).toString('hex'), '00000000000000000000ffffc0000201');
  });

  it('lays out struct tcp_md5sig: 216 octets, key length at 130, key at 136', () => {
    const sig = encodeMd5Sig('192.0.2.1', 2, 'secret');
    assert.equal(sig.length, TCP_MD5SIG_SIZE);
    assert.equal(sig.readUInt16LE(130), 6);
    assert.equal(sig.subarray(136, 142).toString(), 'secret');
    assert.equal(encodeMd5Sig('192.0.2.1', 2, undefined).readUInt16LE(130), 0);
  });

  it('refuses keys over 80 octets, bad addresses and ports with TransportInputError', () => {
    assert.throws(() => encodeMd5Sig('192.0.2.1', 2, 'k'.repeat(81)), TransportInputError);
    assert.throws(() => encodeSockaddr('not-an-ip', 179), TransportInputError);
    assert.throws(() => encodeSockaddr('192.0.2.1', 70000), TransportInputError);
    assert.throws(() => encodeSockaddr('2001:db8::1', 179, 2), TransportInputError);
  });
});

describe('bgp transport: TCP-MD5 in a namespace (root)', function () {
  this.timeout(30_000);
  let lab: Lab;
  let netns: string;
  const listeners: BgpListener[] = [];

  before(async function () {
    requireRoot(this);
    lab = await Lab.create();
    netns = `/run/netns/${await lab.addNamespace('md5')}`;
  });
  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.close()));
  });
  after(async () => {
    await lab?.teardown();
  });

  async function listen(address = '127.0.0.1', ttlSecurityHops?: number): Promise<BgpListener> {
    const l = await BgpListener.open({ address, port: 0, netns, ttlSecurityHops });
    listeners.push(l);
    return l;
  }

  async function exchange(listener: BgpListener, password: string | undefined, extra = {}): Promise<string> {
    const accepted = new Promise<net.Socket>((accept) =>
      listener.addPeer('127.0.0.1', { password: 'good-key', accept }),
    );
    const client = await connectBgp({
      host: '127.0.0.1',
      port: listener.port,
      password,
      netns,
      timeoutMs: 800,
      ...extra,
    });
    const server = await accepted;
    client.write('ping');
    const [data] = (await once(server, 'data')) as [Buffer];
    client.destroy();
    server.destroy();
    return data.toString();
  }

  it('connects with the same key, from a chosen source port', async () => {
    assert.equal(await exchange(await listen(), 'good-key', { localPort: 40179 }), 'ping');
  });

  it('keys an IPv4 peer on a dual-stack listener', async () => {
    assert.equal(await exchange(await listen('::'), 'good-key'), 'ping');
  });

  it('sets GTSM (TTL 255, minimum TTL) on both ends', async () => {
    assert.equal(await exchange(await listen('127.0.0.1', 1), 'good-key', { ttlSecurityHops: 1 }), 'ping');
  });

  for (const [what, password] of [
    ['a wrong key', 'bad-key'],
    ['no key', undefined],
  ] as const) {
    it(`never connects with ${what}: the listener drops the SYNs`, async () => {
      const listener = await listen();
      let accepted = 0;
      listener.addPeer('127.0.0.1', {
        password: 'good-key',
        accept: (s) => {
          accepted++;
          s.destroy();
        },
      });
      await assert.rejects(
        connectBgp({ host: '127.0.0.1', port: listener.port, password, netns, timeoutMs: 800 }),
        ConnectTimeoutError,
      );
      assert.equal(accepted, 0);
    });
  }

  it('reports a refused connection as TransportError ECONNREFUSED', async () => {
    const listener = await listen();
    const port = listener.port;
    await listener.close();
    listeners.length = 0;
    // Without a key: an MD5 socket ignores the unsigned RST and would wait for its timeout.
    await assert.rejects(connectBgp({ host: '127.0.0.1', port, netns, timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.code, 'ECONNREFUSED');
      return true;
    });
  });

  it('closes connections from addresses with no registered peer', async () => {
    const listener = await listen();
    const client = await connectBgp({ host: '127.0.0.1', port: listener.port, netns });
    await once(client, 'close');
    assert.equal(listener.refused, 1);
  });

  async function sessionPair(
    activeKey: string,
  ): Promise<{ active: BgpSession; passive: BgpSession; up: Promise<Negotiated> }> {
    const listener = await listen();
    let established: (n: Negotiated) => void = () => {};
    const up = new Promise<Negotiated>((r) => {
      established = r;
    });
    const consumer = (onEstablished: (n: Negotiated) => void): SessionConsumer => ({
      onEstablished,
      onUpdate: () => {},
      onRouteRefresh: () => {},
      onDown: () => {},
    });
    const passive = new BgpSession(
      resolveSessionConfig({
        peerAddress: '127.0.0.1',
        peerAs: 65001,
        localAs: 65002,
        routerId: '192.0.2.2',
        passive: true,
        password: 'session-key',
      }),
      consumer(() => {}),
    );
    listener.addPeer('127.0.0.1', { password: 'session-key', accept: (s) => passive.accept(s) });
    const config = resolveSessionConfig({
      peerAddress: '127.0.0.1',
      peerPort: listener.port,
      peerAs: 65002,
      localAs: 65001,
      routerId: '192.0.2.1',
      password: activeKey,
      connectRetry: { baseMs: 10_000 },
    });
    const active = new BgpSession(config, consumer(established), {
      dial: transportDialer(config, { timeoutMs: 800, netns }),
    });
    passive.start();
    active.start();
    return { active, passive, up };
  }

  it('brings two of our sessions to Established over TCP-MD5', async () => {
    const { active, passive, up } = await sessionPair('session-key');
    const negotiated = await up;
    assert.equal(negotiated.peerRouterId, '192.0.2.2');
    assert.equal(passive.state, 'Established');
    await Promise.all([active.stop('done'), passive.stop('done')]);
  });

  it('never establishes with a mismatched key', async () => {
    const { active, passive, up } = await sessionPair('other-key');
    let established = false;
    void up.then(() => {
      established = true;
    });
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal(established, false);
    assert.equal(active.state, 'Active');
    assert.match(active.status().lastError ?? '', /ETIMEDOUT/);
    await Promise.all([active.stop('done'), passive.stop('done')]);
  });
});
