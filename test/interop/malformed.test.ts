// Malformed UPDATEs against our assembled speaker (in this process, sockets in namespace 'us'),
// judged by RFC 7606 and RFC 4271 6.3 (root). Two senders:
// - ExaBGP 4.2, one session driven through its API, sends attribute-level malformations as
//   generic attributes (`attribute [ 0xCODE 0xFLAGS 0xVALUE ]`): each case first announces a
//   valid route, then the same prefix with the bad attribute.
// - A raw peer (raw-peer.ts: our codec plus byte surgery) sends what ExaBGP cannot: bad
//   marker, length and type in the header, NLRI prefix lengths over 32, attribute lengths
//   overrunning the attribute block, repeated attributes, a missing NEXT_HOP, a LOCAL_PREF on
//   an eBGP session (ExaBGP never sends one there), bad NEXT_HOP addresses. It also serves as
//   the second peer that shows what we pass on.
// Outcomes: treat-as-withdraw (the prefix leaves our RIB, the session stays up), attribute
// discard (the route stays, without the attribute), or session reset (the NOTIFICATION code and
// subcode as the sender received them). After every case the next one works on the same speaker.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AttributeFlag, type UpdateMessage } from '../../bgp/codec/index.js';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import type { Path } from '../../bgp/rib/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { Lab, requireRoot } from '../../src/lab/index.js';
import { ExabgpApi, generic } from './exabgp-api.js';
import { waitFor } from './peers.js';
import { RawPeer } from './raw-peer.js';

const OUR_AS = 65001;
const EXA_AS = 65040;
const RAW_AS = 65050;
const US_EXA = '10.252.1.1';
const EXA = '10.252.1.2';
const US_RAW = '10.252.2.1';
const RAW = '10.252.2.2';

type Outcome =
  | { readonly kind: 'withdraw' }
  /** The route stays; `check` says what of the malformed UPDATE's attributes it kept. */
  | { readonly kind: 'discard'; readonly check: (path: Path) => void }
  /** `data`: the NOTIFICATION data RFC 4271 6.1 prescribes, as hex. */
  | { readonly kind: 'reset'; readonly code: number; readonly subcode: number; readonly data: string };

const withdraw: Outcome = { kind: 'withdraw' };
const reset = (code: number, subcode: number, data = ''): Outcome => ({ kind: 'reset', code, subcode, data });

/** Discard cases announce MED 2 with the bad attribute (MED 1 before), so the update is seen. */
const discard = (check: (path: Path) => void): Outcome => ({
  kind: 'discard',
  check: (path) => {
    assert.equal(path.attrs.med, 2);
    check(path);
  },
});

interface ExaCase {
  readonly name: string;
  /** The malformed attribute, ExaBGP syntax. */
  readonly attribute: string;
  readonly outcome: Outcome;
  /**
   * A well-formed attribute of the same type on the valid route first, and how it shows in our
   * RIB: proof that ExaBGP sends this type code as given and the discard is ours.
   */
  readonly control?: { readonly attribute: string; readonly kept: (path: Path) => void };
}

// Value encodings: AS numbers are four octets (both sides offer capability 65).
const EXA_CASES: readonly ExaCase[] = [
  { name: 'ORIGIN of undefined value 5 (7.1)', attribute: generic(0x01, 0x40, '05'), outcome: withdraw },
  { name: 'ORIGIN of length 2 (7.1)', attribute: generic(0x01, 0x40, '0000'), outcome: withdraw },
  {
    name: 'AS_PATH with segment type 5 (7.2)',
    attribute: generic(0x02, 0x40, '05010000fe10'),
    outcome: withdraw,
  },
  {
    name: 'AS_PATH segment of 5 AS numbers holding 1 (7.2)',
    attribute: generic(0x02, 0x40, '02050000fe10'),
    outcome: withdraw,
  },
  { name: 'MED of length 3 (7.4)', attribute: generic(0x04, 0x80, '000001'), outcome: withdraw },
  {
    name: 'COMMUNITIES of 5 octets (7.8)',
    attribute: generic(0x08, 0xc0, 'fe100001ff'),
    outcome: withdraw,
  },
  {
    name: 'LARGE_COMMUNITY of 13 octets (RFC 8092 6)',
    attribute: generic(0x20, 0xc0, '0000fe1000000001000000027f'),
    outcome: withdraw,
  },
  {
    name: 'ORIGIN flagged optional (3.c)',
    attribute: generic(0x01, 0xc0, '00'),
    outcome: withdraw,
  },
  {
    name: 'ATOMIC_AGGREGATE of length 1 (7.6)',
    attribute: generic(0x06, 0x40, '01'),
    outcome: discard((p) => assert.equal(p.attrs.atomicAggregate, false)),
    control: {
      attribute: generic(0x06, 0x40, ''),
      kept: (p) => assert.equal(p.attrs.atomicAggregate, true),
    },
  },
  {
    name: 'AGGREGATOR of 4 octets (7.7)',
    attribute: generic(0x07, 0xc0, '0000fe10'),
    outcome: discard((p) => assert.equal(p.attrs.aggregator, undefined)),
    control: {
      attribute: generic(0x07, 0xc0, '0000fe100afc0102'),
      kept: (p) => assert.deepEqual(p.attrs.aggregator, { asn: EXA_AS, address: EXA }),
    },
  },
  {
    name: 'AGGREGATOR marked non-transitive (3.c)',
    attribute: generic(0x07, 0x80, '0000fe100afc0102'),
    outcome: withdraw,
  },
  {
    name: 'ORIGINATOR_ID from an external peer (7.9)',
    attribute: generic(0x09, 0x80, '0a000001'),
    outcome: discard((p) => assert.equal(p.attrs.originatorId, undefined)),
  },
  {
    name: 'CLUSTER_LIST from an external peer (7.10)',
    attribute: generic(0x0a, 0x80, '0a000001'),
    outcome: discard((p) => assert.deepEqual(p.attrs.clusterList, [])),
  },
];

interface RawCase {
  readonly name: string;
  /** The crafted message(s), from the valid UPDATE the case announced first. */
  readonly craft: (valid: Buffer) => Buffer;
  readonly outcome: Outcome;
}

// ---- byte surgery on an encoded UPDATE (RFC 4271 4.3 layout) ----
const HEADER = 19;

function attributeBytes(flags: number, code: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([flags, code, value.length]), value]);
}

/** Where the path attributes start and end in an encoded UPDATE. */
function attributeBlock(update: Buffer): { start: number; end: number } {
  const withdrawnLength = update.readUInt16BE(HEADER);
  const lengthAt = HEADER + 2 + withdrawnLength;
  const start = lengthAt + 2;
  return { start, end: start + update.readUInt16BE(lengthAt) };
}

/** The UPDATE with its attribute block replaced, both length fields fixed. */
function withAttributeBlock(update: Buffer, block: Buffer): Buffer {
  const { start, end } = attributeBlock(update);
  const out = Buffer.concat([update.subarray(0, start), block, update.subarray(end)]);
  out.writeUInt16BE(block.length, start - 2);
  out.writeUInt16BE(out.length, 16);
  return out;
}

/** Attributes (flags, code, value) of an UPDATE in wire order. */
function attributesOf(update: Buffer): { code: number; bytes: Buffer }[] {
  const { start, end } = attributeBlock(update);
  const out: { code: number; bytes: Buffer }[] = [];
  for (let off = start; off < end; ) {
    const extended = (update[off]! & AttributeFlag.EXTENDED_LENGTH) !== 0;
    const length = extended ? update.readUInt16BE(off + 2) : update[off + 2]!;
    const next = off + (extended ? 4 : 3) + length;
    out.push({ code: update[off + 1]!, bytes: update.subarray(off, next) });
    off = next;
  }
  return out;
}

const without = (update: Buffer, code: number): Buffer =>
  withAttributeBlock(
    update,
    Buffer.concat(
      attributesOf(update)
        .filter((a) => a.code !== code)
        .map((a) => a.bytes),
    ),
  );

const appended = (update: Buffer, ...extra: Buffer[]): Buffer =>
  withAttributeBlock(update, Buffer.concat([...attributesOf(update).map((a) => a.bytes), ...extra]));

const replaced = (update: Buffer, code: number, bytes: Buffer): Buffer =>
  withAttributeBlock(
    update,
    Buffer.concat(attributesOf(update).map((a) => (a.code === code ? bytes : a.bytes))),
  );

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const med = (n: number): Buffer => attributeBytes(AttributeFlag.OPTIONAL, 4, u32(n));
const nextHop = (octets: number[]): Buffer =>
  attributeBytes(AttributeFlag.TRANSITIVE, 3, Buffer.from(octets));
/** The valid UPDATE's MED 1 turned into 2, as every discard case announces. */
const med2 = (valid: Buffer): Buffer => replaced(valid, 4, med(2));

const RAW_CASES: readonly RawCase[] = [
  {
    name: 'header marker not all ones (1/1)',
    craft: (v) => {
      const b = Buffer.from(v);
      b[3] = 0;
      return b;
    },
    outcome: reset(1, 1),
  },
  {
    name: 'header length 18 (1/2)',
    craft: (v) => {
      const b = Buffer.from(v);
      b.writeUInt16BE(18, 16);
      return b;
    },
    outcome: reset(1, 2, '0012'),
  },
  {
    name: 'header type 9 (1/3)',
    craft: (v) => {
      const b = Buffer.from(v);
      b[18] = 9;
      return b;
    },
    outcome: reset(1, 3, '09'),
  },
  {
    name: 'NLRI prefix length 33 (7606 5.3: 3/10)',
    craft: (v) => {
      // The NLRI is the valid /24 at the very end: length octet, then 3 address octets.
      const b = Buffer.from(v);
      b[b.length - 4] = 33;
      return b;
    },
    outcome: reset(3, 10),
  },
  {
    name: 'attribute length overrunning the attribute block (7606 4)',
    // A MED claiming 10 octets with 4 left: the block's total length still finds the NLRI.
    craft: (v) => appended(v, Buffer.from([AttributeFlag.OPTIONAL, 4, 10, 0, 0, 0, 1])),
    outcome: withdraw,
  },
  {
    name: 'NEXT_HOP of length 5 (7.3)',
    craft: (v) =>
      replaced(v, 3, attributeBytes(AttributeFlag.TRANSITIVE, 3, Buffer.from([10, 252, 2, 2, 0]))),
    outcome: withdraw,
  },
  {
    name: 'NEXT_HOP 0.0.0.0 (4271 6.3, 7606 7.3)',
    craft: (v) => replaced(v, 3, nextHop([0, 0, 0, 0])),
    outcome: withdraw,
  },
  {
    name: 'NEXT_HOP multicast 224.0.0.5 (4271 6.3, 7606 7.3)',
    craft: (v) => replaced(v, 3, nextHop([224, 0, 0, 5])),
    outcome: withdraw,
  },
  {
    name: 'NEXT_HOP missing with NLRI (7606 3.d)',
    craft: (v) => without(v, 3),
    outcome: withdraw,
  },
  {
    name: 'MED repeated (7606 3.g: the first is kept)',
    craft: (v) => appended(med2(v), med(3)),
    outcome: discard(() => {}),
  },
  {
    name: 'LOCAL_PREF from an external peer (7606 7.5, 4271 5.1.5)',
    craft: (v) => appended(med2(v), attributeBytes(AttributeFlag.TRANSITIVE, 5, u32(500))),
    outcome: discard((p) => assert.equal(p.attrs.localPref, undefined)),
  },
];

describe('bgp malformed UPDATEs: ExaBGP and a raw peer against our speaker (root)', function () {
  this.timeout(30_000);
  let lab: Lab | undefined;
  let dir: string | undefined;
  let exa: ExabgpApi;
  let us: RunningSpeaker | undefined;
  let rawNetns: string;
  let prefixSeq = 0;
  const raws: RawPeer[] = [];
  /** The speaker's warnings, where RFC 7606 6 wants every treat-as-withdraw logged. */
  const warnings: { peer?: string; msg?: string; handling?: string }[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        warnings.push(JSON.parse(chunk.toString()) as (typeof warnings)[number]);
        done();
      },
    }),
  );

  before(async function () {
    requireRoot(this);
    this.timeout(60_000);
    lab = await Lab.create();
    dir = mkdtempSync(join(tmpdir(), 'trellis-malformed-'));
    chmodSync(dir, 0o755);
    const [usNs, , rawNs] = await lab.addNamespaces(['us', 'exa', 'raw']);
    rawNetns = `/run/netns/${rawNs}`;
    await lab.connect({
      a: { ns: 'us', ifname: 'v0', address: [`${US_EXA}/24`] },
      b: { ns: 'exa', ifname: 'eth0', address: [`${EXA}/24`] },
    });
    await lab.connect({
      a: { ns: 'us', ifname: 'v1', address: [`${US_RAW}/24`] },
      b: { ns: 'raw', ifname: 'eth0', address: [`${RAW}/24`] },
    });
    exa = await ExabgpApi.start(lab, {
      ns: 'exa',
      dir,
      address: EXA,
      routerId: EXA,
      as: EXA_AS,
      peerAddress: US_EXA,
      peerAs: OUR_AS,
    });
    const config = [
      'routerId: 10.252.0.1',
      `localAs: ${OUR_AS}`,
      `listen: { address: ${US_RAW}, port: 179 }`,
      'gracefulRestartTime: 0',
      'kernel: { enabled: false }',
      'peers:',
      `  - { name: exa, address: ${EXA}, sourceAddress: ${US_EXA}, as: ${EXA_AS} }`,
      `  - { name: raw, address: ${RAW}, as: ${RAW_AS}, passive: true }`,
    ].join('\n');
    us = await runSpeaker(parseSpeakerConfig(config, 'malformed.test'), {
      netns: `/run/netns/${usNs}`,
      logger,
    });
    await waitFor('ExaBGP Established', 20_000, () => (exa.state() === 'up' ? true : undefined));
  });

  afterEach(() => {
    for (const r of raws.splice(0)) r.close();
  });
  after(async () => {
    await us?.stop();
    await lab?.teardown();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const speaker = (): RunningSpeaker => {
    if (us === undefined) throw new Error('no speaker');
    return us;
  };
  const pathFrom = (peer: string, prefix: string): Path | undefined =>
    speaker()
      .rib.multipath(prefix)
      .find((p) => p.source.id === peer);
  const peerState = (name: string): string | undefined =>
    speaker()
      .speaker.peers()
      .find((p) => p.name === name)?.state;
  const nextPrefix = (): string => `10.90.${++prefixSeq}.0/24`;

  async function expectOutcome(peer: string, prefix: string, outcome: Outcome): Promise<void> {
    switch (outcome.kind) {
      case 'withdraw':
        await waitFor(`${prefix} withdrawn`, 5000, () =>
          speaker().rib.bestPath(prefix) === undefined ? true : undefined,
        );
        assert.equal(peerState(peer), 'Established');
        assert.deepEqual(
          warnings.filter((w) => w.msg === 'malformed UPDATE').map((w) => [w.peer, w.handling]),
          [[peer, 'treat-as-withdraw']],
        );
        return;
      case 'discard': {
        const path = await waitFor(`${prefix} updated`, 5000, () => {
          const p = pathFrom(peer, prefix);
          return p?.attrs.med === 2 ? p : undefined;
        });
        outcome.check(path);
        assert.equal(peerState(peer), 'Established');
        return;
      }
      case 'reset':
        throw new Error('reset outcomes are judged by the sender');
    }
  }

  async function rawSession(): Promise<RawPeer> {
    await waitFor('our side ready for the raw peer', 10_000, () =>
      peerState('raw') !== 'Established' ? true : undefined,
    );
    const raw = await RawPeer.connect({
      host: US_RAW,
      netns: rawNetns,
      localAddress: RAW,
      as: RAW_AS,
      routerId: RAW,
    });
    raws.push(raw);
    return raw;
  }

  const validUpdate = (prefix: string): UpdateMessage => ({
    type: 'update',
    withdrawn: [],
    attributes: [
      { type: 'origin', origin: 'igp' },
      { type: 'as-path', segments: [{ type: 'sequence', asns: [RAW_AS] }] },
      { type: 'next-hop', nextHop: RAW },
      { type: 'med', med: 1 },
    ],
    nlri: [{ family: 'ipv4', addr: prefix.split('/')[0]!, len: 24 }],
  });

  /** A fresh raw session whose valid route for a new prefix we have learnt; warnings cleared. */
  async function rawRouteLearnt(): Promise<{ raw: RawPeer; prefix: string; valid: Buffer }> {
    const raw = await rawSession();
    const prefix = nextPrefix();
    const valid = raw.encodeUpdate(validUpdate(prefix));
    raw.send(valid);
    await waitFor(`${prefix} from the raw peer`, 5000, () => pathFrom('raw', prefix));
    warnings.length = 0;
    return { raw, prefix, valid };
  }

  describe('ExaBGP generic attributes, one session', () => {
    for (const c of EXA_CASES) {
      it(`${c.name}: ${c.outcome.kind}`, async () => {
        const prefix = nextPrefix();
        const route = `announce route ${prefix} next-hop ${EXA}`;
        const control = c.control === undefined ? '' : ` attribute ${c.control.attribute}`;
        exa.command(`${route} med 1${control}`);
        const first = await waitFor(`${prefix} from ExaBGP`, 5000, () => pathFrom('exa', prefix));
        c.control?.kept(first);
        // No `med` keyword on withdraw cases: ExaBGP would drop a generic MED beside it.
        const med = c.outcome.kind === 'discard' ? ' med 2' : '';
        warnings.length = 0;
        exa.command(`${route}${med} attribute ${c.attribute}`);
        await expectOutcome('exa', prefix, c.outcome);
        assert.equal(exa.state(), 'up');
        assert.deepEqual(exa.notificationsReceived(), []);
        exa.command(`withdraw route ${prefix} next-hop ${EXA}`);
      });
    }
  });

  describe('raw peer', () => {
    for (const c of RAW_CASES) {
      it(`${c.name}: ${c.outcome.kind}`, async () => {
        const { raw, prefix, valid } = await rawRouteLearnt();
        raw.send(c.craft(valid));
        if (c.outcome.kind === 'reset') {
          const n = await raw.notification();
          assert.deepEqual(
            [n.code, n.subcode, n.data.toString('hex')],
            [c.outcome.code, c.outcome.subcode, c.outcome.data],
          );
          // The session is gone, and with it the route it carried.
          await waitFor(`${prefix} gone with the session`, 5000, () =>
            speaker().rib.bestPath(prefix) === undefined ? true : undefined,
          );
        } else {
          await expectOutcome('raw', prefix, c.outcome);
          assert.equal(raw.closed, false);
        }
        // ExaBGP's session was never disturbed.
        assert.equal(peerState('exa'), 'Established');
      });
    }
  });
  // Not malformed (no RFC 7606 handling, no NOTIFICATION): semantically unusable routes the
  // session screens out (bgp/session/screen.ts).
  describe('RFC 4271 6.3 semantic checks', () => {
    it('a NEXT_HOP that is our own address withdraws the route, the session stays up', async () => {
      const { raw, prefix, valid } = await rawRouteLearnt();
      raw.send(replaced(valid, 3, nextHop(US_RAW.split('.').map(Number))));
      await waitFor(`${prefix} withdrawn`, 5000, () =>
        speaker().rib.bestPath(prefix) === undefined ? true : undefined,
      );
      assert.equal(raw.closed, false);
      assert.equal(peerState('raw'), 'Established');
      assert.ok(
        warnings.some((w) => w.peer === 'raw' && /own address as next hop/.test(w.msg ?? '')),
        'the withdrawal is logged',
      );
    });

    it('a multicast prefix in unicast NLRI is ignored, the rest of the UPDATE is used', async () => {
      const raw = await rawSession();
      const prefix = nextPrefix();
      const update = validUpdate(prefix);
      raw.send(
        raw.encodeUpdate({
          ...update,
          nlri: [{ family: 'ipv4', addr: '224.1.2.0', len: 24 }, ...update.nlri],
        }),
      );
      await waitFor(`${prefix} from the raw peer`, 5000, () => pathFrom('raw', prefix));
      assert.equal(speaker().rib.bestPath('224.1.2.0/24'), undefined);
      assert.equal(raw.closed, false);
      assert.equal(peerState('raw'), 'Established');
    });
  });

  describe('passing on', () => {
    it('an unknown optional transitive attribute reaches another peer with the Partial bit; an unknown non-transitive one does not', async () => {
      const raw = await rawSession();
      const prefix = nextPrefix();
      exa.command(
        `announce route ${prefix} next-hop ${EXA} attribute ${generic(0x63, 0xc0, 'deadbeef')} attribute ${generic(0x64, 0x80, '0102')}`,
      );
      const update = await waitFor(`${prefix} advertised to the raw peer`, 5000, () =>
        raw.updates().find((u) => u.nlri.some((p) => `${p.addr}/${p.len}` === prefix)),
      );
      const unknown = update.attributes.filter((a) => a.type === 'unknown');
      assert.deepEqual(unknown, [
        {
          type: 'unknown',
          typeCode: 0x63,
          flags: AttributeFlag.OPTIONAL | AttributeFlag.TRANSITIVE | AttributeFlag.PARTIAL,
          value: Buffer.from('deadbeef', 'hex'),
        },
      ]);
      exa.command(`withdraw route ${prefix} next-hop ${EXA}`);
    });
  });

  // Last: each costs a reconnect. ExaBGP forgets the route before our speaker dials again, or
  // it would send it once more.
  describe('ExaBGP session resets', () => {
    const RESETS = [
      {
        name: 'MP_REACH_NLRI with an NLRI prefix length 33 (7606 7.11, RFC 4760 7: 3/9)',
        // AFI 1, SAFI 1, next hop 10.252.1.2, reserved, then a /33.
        attribute: generic(0x0e, 0x80, '000101040afc010200210a5a000000'),
        code: 3,
        subcode: 9,
      },
      {
        name: 'unrecognised well-known attribute 99 (4271 6.3: 3/2)',
        attribute: generic(0x63, 0x40, '01'),
        code: 3,
        subcode: 2,
      },
    ];
    for (const c of RESETS) {
      it(`${c.name}: reset`, async () => {
        const prefix = nextPrefix();
        const before = exa.notificationsReceived().length;
        exa.command(`announce route ${prefix} next-hop ${EXA}`);
        await waitFor(`${prefix} from ExaBGP`, 5000, () => pathFrom('exa', prefix));
        exa.command(`announce route ${prefix} next-hop ${EXA} attribute ${c.attribute}`);
        const received = await waitFor(
          'ExaBGP receives a NOTIFICATION',
          5000,
          () => exa.notificationsReceived()[before],
        );
        assert.deepEqual(received, { code: c.code, subcode: c.subcode });
        exa.command(`withdraw route ${prefix} next-hop ${EXA}`);
        await waitFor(`${prefix} gone with the session`, 5000, () =>
          speaker().rib.bestPath(prefix) === undefined ? true : undefined,
        );
        await waitFor('the session with ExaBGP back up', 15_000, () =>
          peerState('exa') === 'Established' && exa.state() === 'up' ? true : undefined,
        );
        assert.equal(speaker().rib.bestPath(prefix), undefined);
      });
    }
  });
});
