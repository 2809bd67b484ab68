// BgpSession.close(): the graceful-restart exit (RFC 4724 section 4) ends the session with a
// bare TCP close, where stop() sends a Cease NOTIFICATION first.
import assert from 'node:assert/strict';
import { CeaseSubcode, ErrorCode } from '../../bgp/codec/index.js';
import { BgpSession, resolveSessionConfig } from '../../bgp/session/index.js';
import { FakeClock, RecordingConsumer, ScriptedPeer, settle, socketPair } from './session-fakes.js';

const US = { address: '192.0.2.1', port: 179 };
const PEER = { address: '192.0.2.2', port: 40000 };

async function establishedSession(): Promise<{
  session: BgpSession;
  peer: ScriptedPeer;
  consumer: RecordingConsumer;
}> {
  const clock = new FakeClock();
  const consumer = new RecordingConsumer();
  const config = resolveSessionConfig({
    peerAddress: PEER.address,
    peerAs: 65002,
    localAs: 65001,
    routerId: '192.0.2.1',
    passive: true,
    capabilities: { gracefulRestart: { restartTime: 120, restarting: false, forwardingPreserved: true } },
  });
  const session = new BgpSession(config, consumer, { clock });
  session.start();
  const [theirs, ours] = socketPair(PEER, US);
  const peer = new ScriptedPeer(theirs);
  session.accept(ours);
  peer.send({
    type: 'open',
    myAs: 65002,
    holdTime: 90,
    bgpId: '192.0.2.2',
    capabilities: [
      { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [] },
    ],
  });
  peer.send({ type: 'keepalive' });
  await settle();
  assert.equal(session.state, 'Established');
  return { session, peer, consumer };
}

describe('bgp session: close() without NOTIFICATION (graceful restart)', () => {
  it('closes the connection with no NOTIFICATION and reports connection-lost', async () => {
    const { session, peer, consumer } = await establishedSession();
    await session.close();
    await settle();
    assert.equal(session.state, 'Idle');
    assert.equal(peer.closed, true);
    assert.deepEqual(peer.types(), ['open', 'keepalive']);
    assert.equal(consumer.downs.length, 1);
    assert.equal(consumer.downs[0]!.reason.kind, 'connection-lost');
    assert.equal(consumer.downs[0]!.wasEstablished, true);
    assert.equal(consumer.downs[0]!.grNegotiated, true);
  });

  it('stop() on the same session sends Cease/2 instead', async () => {
    const { session, peer } = await establishedSession();
    await session.stop('maintenance');
    await settle();
    const n = peer.notification();
    assert.equal(n.code, ErrorCode.CEASE);
    assert.equal(n.subcode, CeaseSubcode.ADMINISTRATIVE_SHUTDOWN);
    assert.equal(n.shutdownCommunication, 'maintenance');
  });

  it('is a no-op on a session that is not running', async () => {
    const { session, consumer } = await establishedSession();
    await session.close();
    await session.close();
    assert.equal(consumer.downs.length, 1);
  });
});
