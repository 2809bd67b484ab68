// Our sessions against BIRD 2, FRR 8.4, GoBGP 3 and ExaBGP 4 in namespaces (root). One lab
// for the file: daemons start once, in parallel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '../../bgp/codec/index.js';
import type { BgpSession } from '../../bgp/session/index.js';
import { requireRoot } from '../../src/lab/index.js';
import { type DaemonKind, InteropLab, waitFor } from './peers.js';
import { OurSide, type RecordingConsumer } from './us.js';

const OUR_AS = 65001;
const KEY = 'trellis-md5-key';

describe('bgp session interop (root)', function () {
  this.timeout(30_000);
  let lab: InteropLab;
  let us: OurSide;

  before(async function () {
    requireRoot(this);
    this.timeout(60_000);
    lab = await InteropLab.create({
      frr: { kind: 'frr', as: 65010, ourAs: OUR_AS },
      bird: { kind: 'bird', as: 65020, ourAs: OUR_AS },
      gobgp: { kind: 'gobgp', as: 65030, ourAs: OUR_AS },
      exabgp: { kind: 'exabgp', as: 65040, ourAs: OUR_AS, passive: true },
      frrmd5: { kind: 'frr', as: 65011, ourAs: OUR_AS, password: KEY, passive: true },
      birdmd5: { kind: 'bird', as: 65021, ourAs: OUR_AS, password: KEY, passive: true },
    });
    us = new OurSide(lab);
  });
  after(async () => {
    await us?.close();
    await lab?.teardown();
  });

  async function bothEstablished(name: string, session: BgpSession, timeoutMs = 15_000): Promise<void> {
    await waitFor(`${name}: our side Established`, timeoutMs, () =>
      session.state === 'Established' ? true : undefined,
    );
    await waitFor(`${name}: its side Established`, timeoutMs, () =>
      lab.peerState(name) === 'Established' ? true : undefined,
    );
  }

  function expectedCapabilities(kind: DaemonKind, events: RecordingConsumer): void {
    const n = events.established.at(-1);
    assert.ok(n !== undefined);
    assert.deepEqual(n.families, ['ipv4']);
    assert.equal(n.codec.fourOctetAs, true);
    assert.equal(n.routeRefresh, true);
    // From the feature table: GoBGP 3.10 has neither enhanced route refresh nor extended messages,
    // BIRD 2.0.12 does not offer extended messages unless configured.
    assert.equal(n.enhancedRouteRefresh, kind !== 'gobgp');
    assert.equal(n.codec.extendedMessage, kind === 'frr');
  }

  for (const name of ['frr', 'bird', 'gobgp'] as const) {
    describe(name, () => {
      it('is Established with us active, capabilities as each side reports them', async () => {
        const { session, events } = await us.session(name);
        await bothEstablished(name, session);
        expectedCapabilities(name, events);
        if (name === 'frr') {
          const caps = lab.frrNeighbor(name).neighborCapabilities as Record<string, unknown>;
          assert.equal(caps['4byteAs'], 'advertisedAndReceived');
          assert.equal(caps.extendedMessage, 'advertisedAndReceived');
          assert.equal(caps.enhancedRouteRefresh, 'advertisedAndReceived');
          assert.match(String(caps.routeRefresh), /advertisedAndReceived/);
        }
        if (name === 'bird') {
          const shown = lab.birdc(name, 'show protocols all trellis');
          for (const c of [/\bAS4\b/, /\brefresh\b/]) assert.match(shown, c);
        }
        // RFC 8203: the peer reports our shutdown text.
        await us.stop(session, `maintenance of ${name} by trellis`);
        assert.equal(events.downs.at(-1)?.wasEstablished, true);
        if (name === 'frr') {
          await waitFor('FRR shows the shutdown text', 5000, () =>
            lab.frrNeighbor(name).lastShutdownDescription === 'maintenance of frr by trellis'
              ? true
              : undefined,
          );
        }
        if (name === 'bird') {
          await waitFor('BIRD logs the shutdown text', 5000, () =>
            readFileSync(join(lab.peer(name).dir, 'bird.log'), 'utf8').includes(
              'maintenance of bird by trellis',
            )
              ? true
              : undefined,
          );
        }
        await waitFor(`${name} leaves Established`, 5000, () =>
          lab.peerState(name) !== 'Established' ? true : undefined,
        );
      });

      it('is Established with us passive (the daemon dials)', async () => {
        const { session } = await us.session(name, { passive: true });
        await bothEstablished(name, session, 20_000);
        await us.stop(session);
      });

      it('expires the hold timer when the daemon is frozen (SIGSTOP)', async () => {
        const { session, events } = await us.session(name, { holdTime: 3 });
        await bothEstablished(name, session);
        assert.equal(events.established.at(-1)?.holdTime, 3);
        const seen = events.downs.length;
        lab.freeze(name);
        try {
          await waitFor('hold timer expiry', 8000, () => (events.downs.length > seen ? true : undefined));
        } finally {
          lab.thaw(name);
        }
        const down = events.downs[seen]!;
        assert.equal(down.reason.detail, 'hold timer expired (3 s)');
        assert.equal(down.reason.kind, 'notification-sent');
        assert.equal(
          down.reason.kind === 'notification-sent' && down.reason.notification.code,
          ErrorCode.HOLD_TIMER_EXPIRED,
        );
        assert.equal(down.wasEstablished, true);
        await us.stop(session);
      });
    });
  }

  it('exabgp: Established with us active', async () => {
    const { session } = await us.session('exabgp');
    await bothEstablished('exabgp', session);
    await us.stop(session);
  });

  for (const name of ['frrmd5', 'birdmd5'] as const) {
    it(`${name}: TCP-MD5 with the same password is Established`, async () => {
      const { session } = await us.session(name, { password: KEY });
      await bothEstablished(name, session);
      await us.stop(session);
    });

    it(`${name}: TCP-MD5 with a wrong password never is`, async () => {
      const { session, events } = await us.session(name, { password: 'not-the-key' });
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(events.established.length, 0);
      assert.notEqual(session.state, 'Established');
      assert.notEqual(lab.peerState(name), 'Established');
      await us.stop(session);
    });
  }
});
