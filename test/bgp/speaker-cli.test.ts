// `trellis bgp peers|routes|kernel`: rendering, and the real command against a control socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import {
  ControlServer,
  type KernelStatus,
  type PeerStatus,
  type RouteStatus,
} from '../../bgp/speaker/index.js';
import { renderKernel, renderPeers, renderRoutes } from '../../src/cli/commands/bgp.js';

const kernel: KernelStatus = {
  enabled: true,
  table: 254,
  metric: 20,
  desired: 3,
  installed: 2,
  stale: 0,
  pending: 0,
  failed: 1,
  repaired: 4,
  failures: [{ prefix: '10.3.0.0/24', error: 'ENETUNREACH: Nexthop has invalid gateway' }],
};

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

const peers: PeerStatus[] = [
  {
    name: 'tor',
    address: '192.0.2.2',
    as: 65002,
    state: 'Established',
    uptimeSeconds: 3725,
    prefixesReceived: 12,
    prefixesAccepted: 10,
    prefixesAdvertised: 3,
  },
  {
    name: 'n2-ipv6',
    address: 'fd00::2',
    as: 64512,
    state: 'Active',
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesAdvertised: 0,
    lastError: 'connect ECONNREFUSED',
  },
];

const path1 = (over: Partial<RouteStatus['paths'][number]>): RouteStatus['paths'][number] => ({
  best: false,
  multipath: false,
  from: 'tor',
  nextHop: '192.0.2.2',
  asPath: [65002, 65010],
  origin: 'igp',
  communities: [],
  largeCommunities: [],
  stale: false,
  ...over,
});

const routes: RouteStatus[] = [
  {
    prefix: '10.1.0.0/24',
    paths: [
      path1({
        best: true,
        multipath: true,
        localPref: 100,
        communities: ['65000:1'],
        largeCommunities: ['65000:1:2'],
      }),
      path1({ multipath: true, from: 'tor2', nextHop: '192.0.2.3', stale: true }),
    ],
  },
];

describe('bgp CLI', function () {
  this.timeout(30_000);

  it('renders peers and routes as aligned tables', () => {
    assert.equal(
      renderPeers(peers),
      [
        'NAME      ADDRESS     AS      STATE         UPTIME   RECEIVED   ACCEPTED   ADVERTISED   LAST ERROR',
        'tor       192.0.2.2   65002   Established   1h2m     12         10         3',
        'n2-ipv6   fd00::2     64512   Active        -        0          0          0            connect ECONNREFUSED',
        '',
      ].join('\n'),
    );
    assert.equal(
      renderRoutes(routes),
      [
        '     PREFIX        NEXT HOP    FROM   AS PATH       ORIGIN   LOCPREF   MED   COMMUNITIES',
        '*    10.1.0.0/24   192.0.2.2   tor    65002 65010   igp      100             65000:1 65000:1:2',
        '=S                 192.0.2.3   tor2   65002 65010   igp',
        '',
      ].join('\n'),
    );
    assert.equal(renderPeers([]), 'No peers configured.\n');
  });

  it('renders kernel sync counts, then each refused prefix with the reason', () => {
    assert.equal(
      renderKernel(kernel),
      [
        'TABLE   METRIC   DESIRED   INSTALLED   STALE   PENDING   FAILED   REPAIRED',
        '254     20       3         2           0       0         1        4',
        '',
        'REFUSED PREFIX   REASON',
        '10.3.0.0/24      ENETUNREACH: Nexthop has invalid gateway',
        '',
      ].join('\n'),
    );
    assert.match(renderKernel({ ...kernel, failed: 0, failures: [] }), /^TABLE[^\n]*\n254[^\n]*\n$/);
    assert.equal(renderKernel({ enabled: false }), 'Kernel sync is off (kernel.enabled: false).\n');
  });

  describe('against a control socket', () => {
    let dir: string;
    let server: ControlServer;
    const asked: (string | undefined)[] = [];

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'trellis-bgp-cli-'));
      server = await ControlServer.listen(path.join(dir, 'bgp.sock'), {
        peers: () => peers,
        routes: (prefix) => {
          asked.push(prefix);
          return routes;
        },
        kernel: () => kernel,
      });
    });

    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const trellis = (...args: string[]) =>
      execa('node', [MAIN, 'bgp', ...args, '--socket', path.join(dir, 'bgp.sock')], { reject: false });

    it('prints peers as a table and as JSON', async () => {
      const text = await trellis('peers');
      assert.equal(text.exitCode, 0, text.stderr);
      assert.equal(`${text.stdout}\n`, renderPeers(peers));
      const json = await trellis('peers', '-o', 'json');
      assert.deepEqual(JSON.parse(json.stdout), peers);
    });

    it('prints kernel sync as a table and as JSON', async () => {
      const text = await trellis('kernel');
      assert.equal(text.exitCode, 0, text.stderr);
      assert.equal(`${text.stdout}\n`, renderKernel(kernel));
      assert.deepEqual(JSON.parse((await trellis('kernel', '-o', 'json')).stdout), kernel);
    });

    it('passes the prefix of `routes PREFIX` to the speaker', async () => {
      const r = await trellis('routes', '10.1.0.0/24', '-o', 'json');
      assert.equal(r.exitCode, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), routes);
      assert.equal(asked.at(-1), '10.1.0.0/24');
    });

    it('fails with exit 1 and a clear message when no speaker listens, 2 on a bad format', async () => {
      const none = await execa('node', [MAIN, 'bgp', 'peers', '--socket', path.join(dir, 'none.sock')], {
        reject: false,
      });
      assert.equal(none.exitCode, 1);
      assert.match(none.stderr, /is the speaker running/);
      const bad = await trellis('peers', '-o', 'yaml');
      assert.equal(bad.exitCode, 2);
      assert.match(bad.stderr, /expected table or json/);
    });
  });
});
