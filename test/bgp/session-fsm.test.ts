// The RFC 4271 section 8 FSM of BgpSession, one rule per test, on a fake clock with in-memory
// connections: connect-retry backoff, passive and active peers, collision detection (6.8),
// hold time negotiation and timers, OPEN and header errors (6.1, 6.2), FSM errors (6.6 with
// the RFC 6608 subcodes) and administrative shutdown (RFC 8203).
import assert from 'node:assert/strict';
import {
  AS_TRANS,
  CeaseSubcode,
  ErrorCode,
  encodeMessage,
  INITIAL_OPTIONS,
  MessageHeaderSubcode,
  type OpenMessage,
  OpenSubcode,
} from '../../bgp/codec/index.js';
import {
  BgpSession,
  resolveSessionConfig,
  SessionConfigError,
  type SessionConfigInput,
} from '../../bgp/session/index.js';
import {
  type Endpoint,
  FakeClock,
  FakeDialer,
  RecordingConsumer,
  ScriptedPeer,
  settle,
  socketPair,
} from './session-fakes.js';

const OUR_ID = '192.0.2.1';
const PEER_ID = '192.0.2.2';
const US: Endpoint = { address: '192.0.2.1', port: 179 };
const PEER: Endpoint = { address: '192.0.2.2', port: 179 };
let ephemeral = 40000;

function harness(input: Partial<SessionConfigInput> = {}) {
  const clock = new FakeClock();
  const dialer = new FakeDialer(clock);
  const consumer = new RecordingConsumer();
  const config = resolveSessionConfig({
    peerAddress: PEER.address,
    peerAs: 65002,
    localAs: 65001,
    routerId: OUR_ID,
    connectRetry: { baseMs: 1000, maxMs: 8000, jitter: 0 },
    ...input,
  });
  const session = new BgpSession(config, consumer, { clock, dial: dialer.dial });
  return {
    clock,
    dialer,
    consumer,
    session,
    /** Answers the pending dial: our outbound connection to the peer's port 179. */
    async outbound(): Promise<ScriptedPeer> {
      const [ours, theirs] = socketPair({ address: US.address, port: ephemeral++ }, PEER);
      const peer = new ScriptedPeer(theirs);
      dialer.last.connect(ours);
      await settle();
      return peer;
    },
    /** The peer dials our port 179. */
    async inbound(): Promise<ScriptedPeer> {
      const [theirs, ours] = socketPair({ address: PEER.address, port: ephemeral++ }, US);
      const peer = new ScriptedPeer(theirs);
      session.accept(ours);
      await settle();
      return peer;
    },
  };
}

function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return { type: 'open', myAs: 65002, holdTime: 90, bgpId: PEER_ID, capabilities: [], ...over };
}

/** An OPEN with fields the encoder refuses: version or hold time patched in after encoding. */
function rawOpen(patch: { version?: number; holdTime?: number; bgpId?: number }): Buffer {
  const bytes = encodeMessage(peerOpen(), INITIAL_OPTIONS);
  if (patch.version !== undefined) bytes.writeUInt8(patch.version, 19);
  if (patch.holdTime !== undefined) bytes.writeUInt16BE(patch.holdTime, 22);
  if (patch.bgpId !== undefined) bytes.writeUInt32BE(patch.bgpId, 24);
  return bytes;
}

async function establish(peer: ScriptedPeer, open: OpenMessage = peerOpen()): Promise<void> {
  peer.send(open);
  peer.send({ type: 'keepalive' });
  await settle();
}

function assertNotification(peer: ScriptedPeer, code: number, subcode: number): void {
  const n = peer.notification();
  assert.deepEqual([n.code, n.subcode], [code, subcode]);
  assert.equal(peer.closed, true, 'the connection closes after the NOTIFICATION');
}

describe('bgp session FSM: connect retry', () => {
  it('retries failed connects after base, doubling up to the cap', async () => {
    const h = harness();
    h.session.start();
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      h.dialer.last.fail(new Error('ECONNREFUSED'));
      await h.clock.advance(0);
      const [wait] = h.clock.pending();
      assert.ok(wait !== undefined, 'a retry is scheduled');
      waits.push(wait);
      await h.clock.advance(wait - 1);
      assert.equal(h.dialer.attempts.length, i + 1, 'not before the wait is over');
      await h.clock.advance(1);
      assert.equal(h.dialer.attempts.length, i + 2);
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000, 8000]);
    assert.equal(h.session.state, 'Connect');
  });

  it('takes up to `jitter` of each wait away', async () => {
    const h = harness({ connectRetry: { baseMs: 1000, maxMs: 8000, jitter: 0.5 } });
    h.clock.randomValue = 0.5;
    h.session.start();
    h.dialer.last.fail(new Error('ECONNREFUSED'));
    await h.clock.advance(0);
    assert.deepEqual(h.clock.pending(), [750]);
  });

  it('starts the backoff over after Established', async () => {
    const h = harness();
    h.session.start();
    for (let i = 0; i < 3; i++) {
      h.dialer.last.fail(new Error('ECONNREFUSED'));
      await h.clock.advance(10_000);
    }
    const peer = await h.outbound();
    await establish(peer);
    assert.equal(h.session.state, 'Established');
    peer.socket.destroy();
    await settle();
    assert.equal(h.session.state, 'Active');
    const before = h.dialer.attempts.length;
    await h.clock.advance(999);
    assert.equal(h.dialer.attempts.length, before);
    await h.clock.advance(1);
    assert.equal(h.dialer.attempts.length, before + 1, 'redialled after the base wait');
  });

  it('keeps backing off while connections fail in OpenSent', async () => {
    const h = harness();
    h.session.start();
    h.dialer.last.fail(new Error('ECONNREFUSED'));
    await h.clock.advance(1000);
    const peer = await h.outbound();
    peer.socket.destroy();
    await settle();
    assert.deepEqual(h.clock.pending(), [2000]);
  });
});

describe('bgp session FSM: passive and active', () => {
  it('a passive session never dials and waits in Active', async () => {
    const h = harness({ passive: true });
    h.session.start();
    await h.clock.advance(3_600_000);
    assert.equal(h.dialer.attempts.length, 0);
    assert.equal(h.session.state, 'Active');
    const peer = await h.inbound();
    await establish(peer);
    assert.equal(h.session.state, 'Established');
    peer.socket.destroy();
    await h.clock.advance(3_600_000);
    assert.equal(h.dialer.attempts.length, 0, 'not even after the session went down');
  });

  it('an active session dials at start and also accepts the peer', async () => {
    const h = harness();
    h.session.start();
    assert.equal(h.dialer.attempts.length, 1);
    assert.equal(h.session.state, 'Connect');
    const peer = await h.inbound();
    assert.deepEqual(peer.types(), ['open']);
    await establish(peer);
    assert.equal(h.session.state, 'Established');
    assert.equal(h.consumer.established.length, 1);
  });

  it('abandons its connect still in progress when the peer connects (RFC 4271 8.2.2 Connect)', async () => {
    const h = harness();
    h.session.start();
    const attempt = h.dialer.last;
    const peer = await h.inbound();
    assert.equal(attempt.signal.aborted, true);
    // The connect finishing anyway does not become a second connection.
    const [ours, theirs] = socketPair({ address: US.address, port: ephemeral++ }, PEER);
    const late = new ScriptedPeer(theirs);
    attempt.connect(ours);
    await settle();
    assert.equal(late.closed, true);
    assert.equal(late.count('open'), 0);
    await establish(peer);
    assert.equal(h.session.state, 'Established');
    assert.equal(h.dialer.attempts.length, 1);
  });

  it('sends our OPEN first on an outbound connection', async () => {
    const h = harness({ holdTime: 30 });
    h.session.start();
    const peer = await h.outbound();
    const open = peer.open();
    assert.deepEqual([open.myAs, open.holdTime, open.bgpId], [65001, 30, OUR_ID]);
    assert.equal(h.session.state, 'OpenSent');
  });
});

describe('bgp session FSM: collision detection (RFC 4271 6.8)', () => {
  // Both connections reach OpenSent; the OPENs then arrive in either order.
  for (const ourId of ['192.0.2.9', '192.0.2.1']) {
    for (const first of ['outbound', 'inbound'] as const) {
      const keep = ourId === '192.0.2.9' ? 'outbound' : 'inbound';
      it(`our id ${ourId} vs ${PEER_ID}, OPEN on ${first} first: keeps the ${keep} connection`, async () => {
        const h = harness({ routerId: ourId });
        h.session.start();
        const conns = { outbound: await h.outbound(), inbound: await h.inbound() };
        const second = first === 'outbound' ? 'inbound' : 'outbound';
        conns[first].send(peerOpen());
        await settle();
        conns[second].send(peerOpen());
        await settle();
        const lose = keep === 'outbound' ? 'inbound' : 'outbound';
        assertNotification(conns[lose], ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION);
        assert.equal(conns[keep].count('notification'), 0);
        conns[keep].send({ type: 'keepalive' });
        await settle();
        assert.equal(h.session.state, 'Established');
        assert.equal(h.consumer.established.length, 1);
        assert.equal(h.consumer.downs.length, 0, 'the loser was never the session');
      });
    }
  }

  it('closes the other connection in OpenSent with Cease/7 when one reaches Established', async () => {
    const h = harness();
    h.session.start();
    const out = await h.outbound();
    const inn = await h.inbound();
    await establish(inn);
    assert.equal(h.session.state, 'Established');
    assertNotification(out, ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION);
  });

  it('without graceful restart: a connection from the peer while Established gets Cease/7, the session stays', async () => {
    const h = harness({ passive: true });
    h.session.start();
    const first = await h.inbound();
    await establish(first);
    const second = await h.inbound();
    assertNotification(second, ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION);
    assert.equal(second.count('open'), 0);
    assert.equal(h.session.state, 'Established');
    assert.equal(first.closed, false);
  });

  it('destroys the rejected connection after the grace even if the peer never closes it', async () => {
    const h = harness({ passive: true });
    h.session.start();
    await establish(await h.inbound());
    const [theirs, ours] = socketPair({ address: PEER.address, port: ephemeral++ }, US);
    theirs.ignoresFin = true;
    h.session.accept(ours);
    await h.clock.advance(1999);
    assert.equal(ours.destroyed, false);
    await h.clock.advance(1);
    assert.equal(ours.destroyed, true);
  });

  it('a newer inbound connection replaces the peer’s older one in OpenSent', async () => {
    const h = harness({ passive: true });
    h.session.start();
    const old = await h.inbound();
    const fresh = await h.inbound();
    assert.equal(old.closed, true);
    await establish(fresh);
    assert.equal(h.session.state, 'Established');
  });
});

describe('bgp session FSM: a new connection while Established (RFC 4724 4.2 helper)', () => {
  const GR_OURS = { restartTime: 120, restarting: false, forwardingPreserved: true };
  const grOpen = (restarting: boolean): OpenMessage =>
    peerOpen({
      capabilities: [
        {
          kind: 'graceful-restart',
          restarting,
          notification: false,
          restartTime: 60,
          families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
        },
      ],
    });

  async function upWithGr(open: OpenMessage = grOpen(false)) {
    const h = harness({ passive: true, capabilities: { gracefulRestart: GR_OURS } });
    h.session.start();
    const old = await h.inbound();
    await establish(old, open);
    assert.equal(h.session.state, 'Established');
    return { ...h, old };
  }

  it('GR negotiated: the new connection’s OPEN ends the old session without NOTIFICATION', async () => {
    const h = await upWithGr();
    const fresh = await h.inbound();
    assert.deepEqual(fresh.types(), ['open'], 'the newcomer is answered, not refused');
    assert.equal(h.old.closed, false, 'nothing happens before its OPEN');
    fresh.send(grOpen(true));
    await settle();
    assert.equal(h.old.closed, true);
    assert.equal(h.old.count('notification'), 0, 'the old connection counts as reset: no NOTIFICATION');
    assert.deepEqual(
      h.consumer.downs.map((d) => [d.reason.kind, d.wasEstablished, d.grNegotiated]),
      [['connection-lost', true, true]],
      'reported like a lost connection, so the consumer keeps the routes as stale',
    );
    assert.equal(fresh.count('notification'), 0);
    fresh.send({ type: 'keepalive' });
    await settle();
    assert.equal(h.session.state, 'Established');
    assert.equal(h.consumer.established.length, 2);
    assert.equal(h.session.negotiated?.gracefulRestart?.peerRestarting, true, 'the new session’s parameters');
  });

  it('GR negotiated: a newcomer that closes before its OPEN leaves the session alone', async () => {
    const h = await upWithGr();
    const fresh = await h.inbound();
    fresh.socket.destroy();
    await settle();
    assert.equal(h.session.state, 'Established');
    assert.equal(h.old.closed, false);
    assert.deepEqual(h.consumer.downs, []);
  });

  it('GR negotiated: a newcomer whose OPEN is refused leaves the session alone', async () => {
    const h = await upWithGr();
    const fresh = await h.inbound();
    fresh.send(peerOpen({ myAs: 65003 }));
    await settle();
    assertNotification(fresh, ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_PEER_AS);
    assert.equal(h.session.state, 'Established');
    assert.equal(h.old.closed, false);
    assert.deepEqual(h.consumer.downs, []);
  });

  it('GR offered by us only: the newcomer gets Cease/7 as without GR (RFC 4271 6.8)', async () => {
    const h = await upWithGr(peerOpen());
    assert.equal(h.session.negotiated?.gracefulRestart, undefined);
    const fresh = await h.inbound();
    assertNotification(fresh, ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION);
    assert.equal(fresh.count('open'), 0);
    assert.equal(h.session.state, 'Established');
    assert.equal(h.old.closed, false);
  });
});

describe('bgp session FSM: two of our sessions dialling each other at once', () => {
  interface Side {
    readonly id: string;
    readonly as: number;
    readonly address: string;
  }

  async function dialBoth(a: Side, b: Side) {
    const clock = new FakeClock();
    const make = (me: Side, them: Side) => {
      const dialer = new FakeDialer(clock);
      const consumer = new RecordingConsumer();
      const config = resolveSessionConfig({
        peerAddress: them.address,
        peerAs: them.as,
        localAs: me.as,
        routerId: me.id,
      });
      return { dialer, consumer, session: new BgpSession(config, consumer, { clock, dial: dialer.dial }) };
    };
    const sa = make(a, b);
    const sb = make(b, a);
    sa.session.start();
    sb.session.start();
    const [aOut, bIn] = socketPair({ address: a.address, port: 40001 }, { address: b.address, port: 179 });
    const [bOut, aIn] = socketPair({ address: b.address, port: 40002 }, { address: a.address, port: 179 });
    sa.dialer.last.connect(aOut);
    sb.dialer.last.connect(bOut);
    // Both connects complete before either side accepts: two connections, a real collision.
    await settle();
    assert.deepEqual([sa.session.state, sb.session.state], ['OpenSent', 'OpenSent']);
    sb.session.accept(bIn);
    sa.session.accept(aIn);
    await clock.advance(0);
    return { a: sa, b: sb };
  }

  const cases: [string, Side, Side, 'a' | 'b'][] = [
    [
      'higher identifier wins',
      { id: '192.0.2.9', as: 65001, address: '192.0.2.1' },
      { id: '192.0.2.5', as: 65002, address: '192.0.2.2' },
      'a',
    ],
    [
      'equal eBGP identifiers: the larger AS wins (RFC 6286 2.3)',
      { id: '10.0.0.1', as: 65001, address: '192.0.2.1' },
      { id: '10.0.0.1', as: 65002, address: '192.0.2.2' },
      'b',
    ],
  ];
  for (const [what, a, b, winner] of cases) {
    it(`${what}: both keep the same one connection`, async () => {
      const s = await dialBoth(a, b);
      for (const side of [s.a, s.b]) {
        assert.equal(side.session.state, 'Established');
        assert.equal(side.consumer.established.length, 1);
        assert.equal(side.consumer.downs.length, 0);
      }
      const na = s.a.session.negotiated!;
      const nb = s.b.session.negotiated!;
      assert.deepEqual([na.localPort, na.remotePort], [nb.remotePort, nb.localPort], 'the same connection');
      // The kept connection was dialled by the winner: its local port is the ephemeral one.
      const kept = winner === 'a' ? na : nb;
      assert.notEqual(kept.localPort, 179);
    });
  }
});

describe('bgp session FSM: hold time and keepalives', () => {
  async function up(input: Partial<SessionConfigInput>, open: Partial<OpenMessage>) {
    const h = harness({ passive: true, ...input });
    h.session.start();
    const peer = await h.inbound();
    await establish(peer, peerOpen(open));
    return { ...h, peer };
  }

  it('negotiates the smaller hold time and sends KEEPALIVEs every third of it', async () => {
    const h = await up({ holdTime: 90 }, { holdTime: 30 });
    assert.deepEqual([h.session.negotiated?.holdTime, h.session.negotiated?.keepaliveTime], [30, 10]);
    const before = h.peer.count('keepalive');
    for (let t = 0; t < 3; t++) {
      await h.clock.advance(9_999);
      h.peer.send({ type: 'keepalive' });
      await h.clock.advance(1);
    }
    assert.equal(h.peer.count('keepalive') - before, 3);
  });

  it('uses a configured keepalive time below hold/3', async () => {
    const h = await up({ holdTime: 90, keepaliveTime: 5 }, { holdTime: 90 });
    const before = h.peer.count('keepalive');
    await h.clock.advance(25_000);
    assert.equal(h.peer.count('keepalive') - before, 5);
  });

  it('hold time 0 from the peer: no KEEPALIVEs and no hold timer', async () => {
    const h = await up({ holdTime: 90 }, { holdTime: 0 });
    assert.deepEqual([h.session.negotiated?.holdTime, h.session.negotiated?.keepaliveTime], [0, 0]);
    const before = h.peer.count('keepalive');
    await h.clock.advance(86_400_000);
    assert.equal(h.peer.count('keepalive'), before);
    assert.equal(h.session.state, 'Established');
    assert.deepEqual(h.clock.pending(), []);
  });

  it('hold time 0 of ours wins over the peer’s', async () => {
    const h = await up({ holdTime: 0 }, { holdTime: 90 });
    assert.equal(h.session.negotiated?.holdTime, 0);
    await h.clock.advance(86_400_000);
    assert.equal(h.session.state, 'Established');
  });

  for (const hold of [1, 2]) {
    it(`refuses hold time ${hold} with 2/6`, async () => {
      const h = harness({ passive: true });
      h.session.start();
      const peer = await h.inbound();
      peer.sendRaw(rawOpen({ holdTime: hold }));
      await settle();
      assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.UNACCEPTABLE_HOLD_TIME);
    });
  }

  it('sends 4/0 when the hold timer expires; any message re-arms it', async () => {
    const h = await up({ holdTime: 90 }, { holdTime: 30 });
    await h.clock.advance(29_000);
    h.peer.send({ type: 'keepalive' });
    await h.clock.advance(29_000);
    assert.equal(h.session.state, 'Established');
    await h.clock.advance(1_000);
    assertNotification(h.peer, ErrorCode.HOLD_TIMER_EXPIRED, 0);
    assert.equal(h.consumer.downs[0]?.reason.kind, 'notification-sent');
    assert.equal(h.consumer.downs[0]?.wasEstablished, true);
  });

  it('sends 4/0 when no OPEN arrives within the open hold time', async () => {
    const h = harness({ passive: true, openHoldTime: 240 });
    h.session.start();
    const peer = await h.inbound();
    await h.clock.advance(239_999);
    assert.equal(peer.count('notification'), 0);
    await h.clock.advance(1);
    assertNotification(peer, ErrorCode.HOLD_TIMER_EXPIRED, 0);
  });
});

describe('bgp session FSM: OPEN message errors (RFC 4271 6.2)', () => {
  async function refuse(input: Partial<SessionConfigInput>, send: (peer: ScriptedPeer) => void) {
    const h = harness({ passive: true, ...input });
    h.session.start();
    const peer = await h.inbound();
    send(peer);
    await settle();
    assert.notEqual(h.session.state, 'OpenConfirm');
    assert.equal(h.consumer.established.length, 0);
    return peer;
  }

  it('2/1 for version 3, with the version we support (4) in the data', async () => {
    const peer = await refuse({}, (p) => p.sendRaw(rawOpen({ version: 3 })));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSUPPORTED_VERSION);
    assert.deepEqual([...peer.notification().data], [0, 4]);
  });

  it('2/2 for a peer AS other than configured', async () => {
    const peer = await refuse({}, (p) => p.send(peerOpen({ myAs: 65003 })));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_PEER_AS);
  });

  it('2/3 for BGP identifier 0', async () => {
    const peer = await refuse({}, (p) => p.sendRaw(rawOpen({ bgpId: 0 })));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_BGP_IDENTIFIER);
  });

  it('2/3 for an iBGP peer with our own identifier', async () => {
    const peer = await refuse({ peerAs: 65001 }, (p) => p.send(peerOpen({ myAs: 65001, bgpId: OUR_ID })));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.BAD_BGP_IDENTIFIER);
  });

  it('accepts an eBGP peer with our own identifier (RFC 6286 2.1)', async () => {
    const h = harness({ passive: true });
    h.session.start();
    const peer = await h.inbound();
    await establish(peer, peerOpen({ bgpId: OUR_ID }));
    assert.equal(h.session.state, 'Established');
  });

  it('2/7 when a required capability is missing, listing it in the data', async () => {
    const peer = await refuse({ capabilities: { required: ['route-refresh'] } }, (p) => p.send(peerOpen()));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSUPPORTED_CAPABILITY);
    assert.deepEqual([...peer.notification().data], [2, 0]);
  });

  it('2/7 asking for four-octet AS when the configured peer AS needs it and the OPEN lacks it', async () => {
    const peer = await refuse({ peerAs: 4_200_000_000 }, (p) => p.send(peerOpen({ myAs: AS_TRANS })));
    assertNotification(peer, ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSUPPORTED_CAPABILITY);
    // Capability 65, length 4, our AS 65001.
    assert.deepEqual([...peer.notification().data], [65, 4, 0, 0, 0xfd, 0xe9]);
  });

  it('refuses to configure a four-octet peer AS without the four-octet AS capability', () => {
    assert.throws(
      () =>
        resolveSessionConfig({
          peerAddress: PEER.address,
          peerAs: 4_200_000_000,
          localAs: 65001,
          routerId: OUR_ID,
          capabilities: { fourOctetAs: false },
        }),
      (err: unknown) => err instanceof SessionConfigError && err.field === 'capabilities.fourOctetAs',
    );
  });

  it('accepts a four-octet peer AS carried in the capability', async () => {
    const h = harness({ passive: true, peerAs: 4_200_000_000 });
    h.session.start();
    const peer = await h.inbound();
    await establish(
      peer,
      peerOpen({ myAs: AS_TRANS, capabilities: [{ kind: 'four-octet-as', asn: 4_200_000_000 }] }),
    );
    assert.equal(h.session.state, 'Established');
    assert.equal(h.session.negotiated?.peerAs, 4_200_000_000);
  });
});

describe('bgp session FSM: message header errors (RFC 4271 6.1)', () => {
  const keepalive = (): Buffer => encodeMessage({ type: 'keepalive' }, INITIAL_OPTIONS);
  const cases: [string, (b: Buffer) => Buffer, number, number[]][] = [
    [
      '1/1 for a marker that is not all ones',
      (b) => {
        b[3] = 0;
        return b;
      },
      MessageHeaderSubcode.CONNECTION_NOT_SYNCHRONIZED,
      [],
    ],
    [
      '1/2 for a length below 19, with the length in the data',
      (b) => {
        b.writeUInt16BE(18, 16);
        return b;
      },
      MessageHeaderSubcode.BAD_MESSAGE_LENGTH,
      [0, 18],
    ],
    [
      '1/2 for a KEEPALIVE longer than 19',
      (b) => {
        b.writeUInt16BE(20, 16);
        return Buffer.concat([b, Buffer.alloc(1)]);
      },
      MessageHeaderSubcode.BAD_MESSAGE_LENGTH,
      [0, 20],
    ],
    [
      '1/3 for an unknown type, with the type in the data',
      (b) => {
        b[18] = 9;
        return b;
      },
      MessageHeaderSubcode.BAD_MESSAGE_TYPE,
      [9],
    ],
  ];
  for (const [what, corrupt, subcode, data] of cases) {
    it(what, async () => {
      const h = harness({ passive: true });
      h.session.start();
      const peer = await h.inbound();
      await establish(peer);
      peer.sendRaw(corrupt(keepalive()));
      await settle();
      assertNotification(peer, ErrorCode.MESSAGE_HEADER, subcode);
      assert.deepEqual([...peer.notification().data], data);
      assert.equal(h.consumer.downs[0]?.wasEstablished, true);
    });
  }
});

describe('bgp session FSM: unexpected messages (RFC 4271 6.6, RFC 6608)', () => {
  const update = { type: 'update', withdrawn: [], attributes: [], nlri: [] } as const;

  for (const [what, msg] of [
    ['KEEPALIVE', { type: 'keepalive' }],
    ['UPDATE', update],
  ] as const) {
    it(`${what} in OpenSent: 5/1`, async () => {
      const h = harness({ passive: true });
      h.session.start();
      const peer = await h.inbound();
      peer.send(msg);
      await settle();
      assertNotification(peer, ErrorCode.FSM, 1);
      assert.equal(h.consumer.updates, 0);
    });
  }

  it('UPDATE in OpenConfirm: 5/2', async () => {
    const h = harness({ passive: true });
    h.session.start();
    const peer = await h.inbound();
    peer.send(peerOpen());
    peer.send(update);
    await settle();
    assertNotification(peer, ErrorCode.FSM, 2);
  });

  it('OPEN in Established: 5/3', async () => {
    const h = harness({ passive: true });
    h.session.start();
    const peer = await h.inbound();
    await establish(peer);
    peer.send(peerOpen());
    await settle();
    assertNotification(peer, ErrorCode.FSM, 3);
  });
});

describe('bgp session FSM: administrative shutdown (RFC 8203, 9003)', () => {
  async function upSession() {
    const h = harness({ passive: true });
    h.session.start();
    const peer = await h.inbound();
    await establish(peer);
    return { ...h, peer };
  }

  it('stop() sends Cease/2 with the communication and goes Idle', async () => {
    const h = await upSession();
    await h.session.stop('planned maintenance');
    await settle();
    assertNotification(h.peer, ErrorCode.CEASE, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN);
    assert.equal(h.peer.notification().shutdownCommunication, 'planned maintenance');
    assert.equal(h.session.state, 'Idle');
    await h.clock.advance(3_600_000);
    assert.equal(h.dialer.attempts.length, 0, 'a stopped session does not redial');
  });

  it('cuts a long communication to 255 octets without splitting a character', async () => {
    const h = await upSession();
    await h.session.stop('é'.repeat(200));
    await settle();
    const text = h.peer.notification().shutdownCommunication ?? '';
    assert.equal(Buffer.byteLength(text), 254);
    assert.equal(text, 'é'.repeat(127));
  });

  it('other Cease subcodes carry no text', async () => {
    const h = await upSession();
    await h.session.stop('removed', CeaseSubcode.PEER_DECONFIGURED);
    await settle();
    assertNotification(h.peer, ErrorCode.CEASE, CeaseSubcode.PEER_DECONFIGURED);
    assert.equal(h.peer.notification().data.length, 0);
  });

  it('stop() while dialling aborts the dial and refuses later connections', async () => {
    const h = harness();
    h.session.start();
    await h.session.stop('bye');
    assert.equal(h.dialer.last.signal.aborted, true);
    const peer = await h.inbound();
    assert.equal(peer.closed, true);
    assert.equal(peer.count('open'), 0);
  });
});
