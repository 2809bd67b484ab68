// Both families on one session (MP-BGP, RFC 4760) with FRR, BIRD and GoBGP, from our session
// layer (bgp/session, no RIB): over IPv4 transport, IPv4 and IPv6 routes go both ways with
// communities and are withdrawn; the IPv6 next hop each daemon sends is pinned down (FRR and
// BIRD: global + link-local; GoBGP: an IPv4-mapped address). Over IPv6 transport FRR and BIRD
// send IPv4 routes with an IPv4 NEXT_HOP; GoBGP sends RFC 8950 next hops it never negotiated.
import assert from 'node:assert/strict';
import {
  type DecodedUpdate,
  ErrorCode,
  type PathAttribute,
  packUpdates,
  packWithdrawals,
  parsePrefix,
  UpdateSubcode,
} from '../../bgp/codec/index.js';
import { requireRoot } from '../../src/lab/index.js';
import { normalizeAddress } from '../../src/net/index.js';
import { heldRoute, InteropLab, linkLocalOf, waitFor } from './peers.js';
import { OurSide, type RecordingConsumer } from './us.js';

const OUR_AS = 65001;
const DAEMONS = ['frr', 'bird', 'gobgp'] as const;

/** Each daemon's prefixes: n is its link number. */
const theirs = (n: number) => ({ ipv4: `10.72.${n}.0/24`, ipv6: `fd72:${n}::/64` });
const ours = (n: number) => ({ ipv4: `10.82.${n}.0/24`, ipv6: `fd82:${n}::/64` });

interface LearnedHop {
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
}

/** The next hop a recorded UPDATE gave `prefix`, from NEXT_HOP or MP_REACH_NLRI. */
function learnedHop(events: RecordingConsumer, prefix: string): LearnedHop | undefined {
  const want = parsePrefix(prefix);
  const same = (p: { addr: string; len: number }) => p.addr === want.addr && p.len === want.len;
  for (const u of [...events.updates].reverse()) {
    const mp = u.attributes.find((a) => a.type === 'mp-reach-nlri' && a.nlri.some(same));
    if (mp?.type === 'mp-reach-nlri') {
      return mp.linkLocalNextHop === undefined
        ? { nextHop: mp.nextHop }
        : { nextHop: mp.nextHop, linkLocalNextHop: mp.linkLocalNextHop };
    }
    const hop = u.attributes.find((a) => a.type === 'next-hop');
    if (u.nlri.some(same) && hop?.type === 'next-hop') return { nextHop: hop.nextHop };
  }
  return undefined;
}

const COMMUNITIES: PathAttribute[] = [
  { type: 'origin', origin: 'igp' },
  { type: 'as-path', segments: [{ type: 'sequence', asns: [OUR_AS] }] },
  { type: 'communities', communities: [OUR_AS * 65536 + 100] },
  { type: 'large-communities', communities: [{ globalAdmin: OUR_AS, localData1: 1, localData2: 2 }] },
];

describe('bgp MP-BGP interop: both families on one session (root)', function () {
  this.timeout(30_000);
  let lab: InteropLab;
  let us: OurSide;

  before(async function () {
    requireRoot(this);
    this.timeout(60_000);
    const peers = Object.fromEntries(
      [...DAEMONS.map((d) => [d, 'ipv4'] as const), ...DAEMONS.map((d) => [`${d}6`, 'ipv6'] as const)].map(
        ([name, transport], i) => [
          name,
          {
            kind: name.replace('6', '') as (typeof DAEMONS)[number],
            as: 65010 + i,
            ourAs: OUR_AS,
            transport,
            announce: Object.values(theirs(i + 1)),
          },
        ],
      ),
    );
    lab = await InteropLab.create(peers);
    us = new OurSide(lab);
  });
  after(async () => {
    await us?.close();
    await lab?.teardown();
  });

  const established = async (name: string) => {
    const { session, events } = await us.session(name, { capabilities: { families: ['ipv4', 'ipv6'] } });
    await waitFor(`${name} Established`, 15_000, () => (session.state === 'Established' ? true : undefined));
    assert.deepEqual(events.established.at(-1)?.families, ['ipv4', 'ipv6']);
    return { session, events };
  };

  for (const [index, name] of DAEMONS.entries()) {
    const n = index + 1;
    it(`${name} over IPv4: IPv4 + IPv6 routes both ways with communities, then withdrawn`, async () => {
      const peer = lab.peer(name);
      const { session, events } = await established(name);
      const v4 = await waitFor('their IPv4 route', 10_000, () => learnedHop(events, theirs(n).ipv4));
      assert.deepEqual(v4, { nextHop: peer.link.ipv4.peer });
      const v6 = await waitFor('their IPv6 route', 10_000, () => learnedHop(events, theirs(n).ipv6));
      if (name === 'gobgp') {
        // GoBGP has no IPv6 address of its own on an IPv4 session and sends its IPv4 address,
        // IPv4-mapped: no IPv6 neighbour has it (kernelRouteOf installs nothing for it).
        assert.equal(v6.linkLocalNextHop, undefined);
        assert.match(v6.nextHop, /^::ffff:/);
        assert.equal(normalizeAddress(v6.nextHop), peer.link.ipv4.peer);
      } else {
        // FRR and BIRD take the interface's global and link-local addresses (32 octets).
        assert.deepEqual(v6, {
          nextHop: peer.link.ipv6.peer,
          linkLocalNextHop: await linkLocalOf(lab, name, 'eth0'),
        });
      }

      const codec = events.established.at(-1)!.codec;
      const ourLinkLocal = await linkLocalOf(lab, 'us', peer.ourIfname);
      const mine = ours(n);
      await session.sendUpdates([
        ...packUpdates(
          [...COMMUNITIES, { type: 'next-hop', nextHop: peer.link.ipv4.us }],
          [parsePrefix(mine.ipv4)],
          codec,
        ),
        ...packUpdates(
          [
            ...COMMUNITIES,
            {
              type: 'mp-reach-nlri',
              family: 'ipv6',
              nextHop: peer.link.ipv6.us,
              linkLocalNextHop: ourLinkLocal,
              nlri: [],
            },
          ],
          [parsePrefix(mine.ipv6)],
          codec,
        ),
      ]);
      for (const prefix of [mine.ipv4, mine.ipv6]) {
        const held = await waitFor(`${name} holds ${prefix} as best`, 10_000, () => {
          const h = heldRoute(lab, name, prefix);
          return h?.best === true ? h : undefined;
        });
        assert.equal(held.communities && held.largeCommunities, true, `${name} ${prefix} communities`);
      }
      await session.sendUpdates([
        ...packWithdrawals([parsePrefix(mine.ipv4)], codec),
        ...packWithdrawals([parsePrefix(mine.ipv6)], codec),
      ]);
      for (const prefix of [mine.ipv4, mine.ipv6]) {
        await waitFor(`${name} drops ${prefix}`, 10_000, () =>
          heldRoute(lab, name, prefix) === undefined ? true : undefined,
        );
      }
      await us.stop(session);
    });
  }

  for (const [index, name] of (['frr6', 'bird6'] as const).entries()) {
    const n = DAEMONS.length + index + 1;
    it(`${name} over IPv6: IPv4 routes come with the daemon's IPv4 NEXT_HOP on the link`, async () => {
      const peer = lab.peer(name);
      const { session, events } = await established(name);
      const v4 = await waitFor('their IPv4 route', 10_000, () => learnedHop(events, theirs(n).ipv4));
      assert.deepEqual(v4, { nextHop: peer.link.ipv4.peer });
      const v6 = await waitFor('their IPv6 route', 10_000, () => learnedHop(events, theirs(n).ipv6));
      assert.equal(v6.nextHop, peer.address);
      const codec = events.established.at(-1)!.codec;
      await session.sendUpdates(
        packUpdates(
          [...COMMUNITIES, { type: 'next-hop', nextHop: peer.link.ipv4.us }],
          [parsePrefix(ours(n).ipv4)],
          codec,
        ),
      );
      await waitFor(`${name} holds ${ours(n).ipv4} as best`, 10_000, () =>
        heldRoute(lab, name, ours(n).ipv4)?.best === true ? true : undefined,
      );
      await us.stop(session);
    });
  }

  it('gobgp6 over IPv6 sends IPv4 NLRI with an IPv6 next hop it never negotiated (RFC 8950): we reset, 3/9', async () => {
    const { session, events } = await us.session('gobgp6', { capabilities: { families: ['ipv4', 'ipv6'] } });
    const down = await waitFor('our NOTIFICATION', 15_000, () => events.downs.find((d) => d.wasEstablished));
    assert.equal(down.reason.kind, 'notification-sent');
    if (down.reason.kind === 'notification-sent') {
      assert.equal(down.reason.notification.code, ErrorCode.UPDATE_MESSAGE);
      assert.equal(down.reason.notification.subcode, UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR);
    }
    // Nothing from the offending UPDATE reached the consumer as a route.
    const carried = (u: DecodedUpdate) =>
      u.attributes.some((a) => a.type === 'mp-reach-nlri' && a.family === 'ipv4');
    assert.equal(events.updates.some(carried), false);
    await us.stop(session);
  });
});
