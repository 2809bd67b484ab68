// Graceful restart as helper, end to end (root): our assembled speaker (namespace 'us', kernel
// sync on) and a scripted raw peer in namespace 'raw' that "restarts" by opening a second TCP
// connection while its first one stays open and silent, as a peer that rebooted without our
// TCP noticing. RFC 4724 4.2: the new connection replaces the old one at once (not after our
// 90 s hold time), the old one ends without NOTIFICATION, the peer's routes stay in our RIB
// (stale) and kernel throughout (`ip monitor` sees no deletion), and its End-of-RIB on the new
// session sweeps what it did not re-send. Without graceful restart: RFC 4271 6.8, Cease/7.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Capability,
  CeaseSubcode,
  ErrorCode,
  endOfRib,
  openAsField,
  parsePrefix,
  type UpdateMessage,
} from '../../bgp/codec/index.js';
import { parseSpeakerConfig } from '../../bgp/config/index.js';
import { type RunningSpeaker, runSpeaker } from '../../bgp/speaker/index.js';
import { connectBgp } from '../../bgp/transport/index.js';
import { Lab, requireRoot } from '../../src/lab/index.js';
import { ScriptedPeer } from '../bgp/session-fakes.js';
import { waitFor } from '../wait.js';

const OUR_AS = 65001;
const RAW_AS = 65060;
const US = '10.253.1.1';
const RAW = '10.253.1.2';
const KEPT = '10.91.1.0/24';
const DROPPED = '10.91.2.0/24';

/** R bit: set by a peer back from a restart. */
const gracefulRestart = (restarting: boolean): Capability => ({
  kind: 'graceful-restart',
  restarting,
  notification: false,
  restartTime: 60,
  families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
});

/** Matches `ip monitor`'s line for the removal of a route to `prefix`. */
const deleted = (prefix: string): RegExp => new RegExp(`^Deleted ${prefix.replace(/\./g, '\\.')} `, 'm');

const announce = (prefixes: string[]): UpdateMessage => ({
  type: 'update',
  withdrawn: [],
  attributes: [
    { type: 'origin', origin: 'igp' },
    { type: 'as-path', segments: [{ type: 'sequence', asns: [RAW_AS] }] },
    { type: 'next-hop', nextHop: RAW },
  ],
  nlri: prefixes.map(parsePrefix),
});

describe('bgp graceful restart helper: a peer back on a new connection (root)', function () {
  this.timeout(30_000);
  let lab: Lab | undefined;
  let dir: string | undefined;
  let us: RunningSpeaker | undefined;
  let rawNetns: string;
  let monitorLog: string;
  const sockets: Socket[] = [];

  before(async function () {
    requireRoot(this);
    lab = await Lab.create({ prefix: `grh${Math.floor(Math.random() * 36 ** 4).toString(36)}` });
    dir = mkdtempSync(join(tmpdir(), 'trellis-gr-helper-'));
    const [usNs, rawNs] = await lab.addNamespaces(['us', 'raw']);
    rawNetns = `/run/netns/${rawNs}`;
    await lab.connect({
      a: { ns: 'us', ifname: 'v0', address: [`${US}/24`] },
      b: { ns: 'raw', ifname: 'eth0', address: [`${RAW}/24`] },
    });
    monitorLog = join(dir, 'monitor.log');
    await lab.spawn('us', 'ip', ['-4', 'monitor', 'route'], { logFile: monitorLog });
    const config = [
      'routerId: 10.253.0.1',
      `localAs: ${OUR_AS}`,
      `listen: { address: ${US}, port: 179 }`,
      'gracefulRestartTime: 120',
      'kernel: { enabled: true }',
      'peers:',
      `  - { name: raw, address: ${RAW}, as: ${RAW_AS}, passive: true, holdTime: 90 }`,
    ].join('\n');
    us = await runSpeaker(parseSpeakerConfig(config, 'gr-helper.test'), { netns: `/run/netns/${usNs}` });
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await us?.stop();
    await lab?.teardown();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const speaker = (): RunningSpeaker => {
    if (us === undefined) throw new Error('no speaker');
    return us;
  };
  const state = (): string | undefined => speaker().speaker.peers()[0]?.state;
  const kernel = async (): Promise<string> => {
    if (lab === undefined) throw new Error('no lab');
    return (await lab.exec('us', 'ip', ['-4', 'route', 'show', 'proto', '46'])).stdout;
  };
  /** Our RIB's paths from the raw peer as "prefix[ stale]". */
  const held = (): string[] =>
    speaker()
      .rib.routes()
      .flatMap((r) => r.paths.map((p) => `${r.prefix}${p.stale ? ' stale' : ''}`))
      .sort();

  /** Dials from 'raw', exchanges OPEN and KEEPALIVE; resolves once our KEEPALIVE arrived. */
  async function dial(capabilities: Capability[]): Promise<ScriptedPeer<Socket>> {
    const socket = await connectBgp({
      host: US,
      port: 179,
      localAddress: RAW,
      netns: rawNetns,
      timeoutMs: 5000,
    });
    sockets.push(socket);
    socket.on('error', () => {});
    const peer = new ScriptedPeer(socket);
    peer.codec = { fourOctetAs: true, extendedMessage: false };
    peer.send({
      type: 'open',
      myAs: openAsField(RAW_AS),
      holdTime: 90,
      bgpId: RAW,
      capabilities: [{ kind: 'four-octet-as', asn: RAW_AS }, ...capabilities],
    });
    await waitFor('our OPEN', 5000, () => (peer.count('open') > 0 || peer.closed ? true : undefined), 20);
    if (peer.count('open') > 0) peer.send({ type: 'keepalive' });
    return peer;
  }

  it('replaces the old connection at once and keeps the routes in RIB and kernel', async () => {
    const old = await dial([gracefulRestart(false)]);
    await waitFor('Established', 5000, () => (state() === 'Established' ? true : undefined), 20);
    old.send(announce([KEPT, DROPPED]));
    old.send(endOfRib('ipv4'));
    await waitFor('both routes in our kernel', 5000, async () => {
      const routes = await kernel();
      return routes.includes(KEPT) && routes.includes(DROPPED) ? true : undefined;
    });

    // The peer "reboots": its old connection stays open and silent, a new one arrives.
    const fresh = await dial([gracefulRestart(true)]);
    await waitFor('the old connection closed by us', 5000, () => (old.closed ? true : undefined), 20);
    assert.equal(old.count('notification'), 0, 'RFC 4724 4.2: no NOTIFICATION on the old connection');
    await waitFor('our KEEPALIVE on the new connection', 5000, () =>
      fresh.count('keepalive') > 0 && state() === 'Established' ? true : undefined,
    );
    assert.deepEqual(held(), [`${KEPT} stale`, `${DROPPED} stale`]);
    const during = await kernel();
    assert.ok(during.includes(KEPT) && during.includes(DROPPED), during);

    fresh.send(announce([KEPT]));
    fresh.send(endOfRib('ipv4'));
    await waitFor('the route not re-sent swept from the kernel', 5000, async () =>
      (await kernel()).includes(DROPPED) ? undefined : true,
    );
    assert.deepEqual(held(), [KEPT], 'refreshed, not stale');
    assert.ok((await kernel()).includes(KEPT));
    const monitor = readFileSync(monitorLog, 'utf8');
    assert.doesNotMatch(monitor, deleted(KEPT), monitor);
    assert.match(monitor, deleted(DROPPED), monitor);
    assert.equal(fresh.count('notification'), 0);
  });

  it('without graceful restart the newcomer gets Cease/7 and the session stays', async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await waitFor('the last session down', 5000, () => (state() !== 'Established' ? true : undefined), 20);
    const first = await dial([]);
    await waitFor('Established', 5000, () => (state() === 'Established' ? true : undefined), 20);
    const second = await dial([]);
    await waitFor('the newcomer closed', 5000, () => (second.closed ? true : undefined), 20);
    const n = second.notification();
    assert.deepEqual([n.code, n.subcode], [ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION]);
    assert.equal(first.closed, false);
    assert.equal(state(), 'Established');
  });
});
