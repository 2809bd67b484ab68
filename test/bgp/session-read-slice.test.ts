// A burst of UPDATEs in one read is handled in slices of at most READ_SLICE_MS (bgp/session
// #readMessages): the socket pauses and the event loop gets a turn (timers, other sessions, the
// kernel sync's batch completions) before the rest, and nothing is lost or reordered.
import assert from 'node:assert/strict';
import { type DecodedUpdate, encodeMessage, INITIAL_OPTIONS, parsePrefix } from '../../bgp/codec/index.js';
import type { Clock } from '../../bgp/session/index.js';
import { acceptedSession, FakeClock, RecordingConsumer, settle } from './session-fakes.js';

const OURS = '192.0.2.1';
const PEER = '192.0.2.2';
/** Time each UPDATE appears to take (the test's clock advances while the consumer works). */
const UPDATE_MS = 2;

function announce(i: number): DecodedUpdate {
  return {
    type: 'update',
    withdrawn: [],
    attributes: [
      { type: 'origin', origin: 'igp' },
      { type: 'as-path', segments: [{ type: 'sequence', asns: [65002] }] },
      { type: 'next-hop', nextHop: PEER },
    ],
    nlri: [parsePrefix(`10.0.${i}.0/24`)],
    handling: { kind: 'ok' },
  };
}

/** Records UPDATEs and event-loop turns in one sequence; each UPDATE moves the clock on. */
class SlowConsumer extends RecordingConsumer {
  readonly order: string[] = [];
  elapsed = 0;
  override onUpdate(update: DecodedUpdate): void {
    super.onUpdate(update);
    this.order.push(update.nlri[0]!.addr);
    this.elapsed += UPDATE_MS;
    if (this.updates === 1) setImmediate(() => this.order.push('loop turn'));
  }
}

describe('bgp session: reading a burst in slices', () => {
  it('yields to the event loop every few ms of UPDATEs and hands all on in order', async () => {
    const fake = new FakeClock();
    const consumer = new SlowConsumer();
    const clock: Clock = {
      now: () => fake.now() + consumer.elapsed,
      random: () => fake.random(),
      setTimer: (ms, fn) => fake.setTimer(ms, fn),
    };
    const { session, peer } = await acceptedSession({ consumer, clock, local: OURS, remote: PEER });

    // Ten UPDATEs in one write: one 'data' event on our side.
    peer.sendRaw(
      Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeMessage(announce(i), INITIAL_OPTIONS))),
    );
    await settle();
    await settle();

    const addrs = Array.from({ length: 10 }, (_, i) => `10.0.${i}.0`);
    assert.deepEqual(
      consumer.order.filter((o) => o !== 'loop turn'),
      addrs,
      'every UPDATE, in order',
    );
    // 5 ms of 2-ms UPDATEs: the first slice ends after the third, and the event loop turns there.
    assert.equal(consumer.order.indexOf('loop turn'), 3, consumer.order.join(' '));
    assert.equal(session.state, 'Established');
    await session.stop();
  });
});
