// The README's main job end to end: three node namespaces with real agents on the file
// datastore, two pods each attached by the real trellis-cni, every pod pair reachable over IPv4
// and IPv6, and the lab gone without a trace after teardown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_HTTP_PORT, type DemoReport, formatReport, labTeardown, labUp } from '../../agent/lab/demo.js';
import { requireRoot } from '../../src/lab/index.js';
import { listNamespaces } from '../../src/lab/teardown.js';
import { silentLogger } from '../../src/log.js';
import { processesUsing } from './processes.js';

describe('trellis lab up (root): the main job', function () {
  this.timeout(120_000);
  const prefix = `tl${process.pid.toString(36)}`.slice(0, 8);
  const dir = join(tmpdir(), `trellis-lab-test-${process.pid}`);
  let report: DemoReport;

  before(async function () {
    requireRoot(this);
    report = await labUp({ nodes: 3, podsPerNode: 2, dir, prefix, log: silentLogger });
  });

  after(async () => {
    await labTeardown(dir, prefix);
  });

  it('gives every pod distinct IPv4 and IPv6 addresses from the pools, on its own node', () => {
    assert.equal(report.pods.length, 6);
    const v4 = new Set(report.pods.map((p) => p.ipv4));
    const v6 = new Set(report.pods.map((p) => p.ipv6));
    assert.equal(v4.size, 6);
    assert.equal(v6.size, 6);
    for (const p of report.pods) {
      assert.match(p.ipv4, /^10\.244\./);
      assert.match(p.ipv6, /^fd00:10:244::/);
      assert.match(p.hostIfname, /^trl[0-9a-f]{11}$/);
    }
  });

  it('routes between nodes over BGP with the ToR: every session up, every block on the ToR and the other nodes', () => {
    const bgp = report.bgp;
    assert.ok(bgp, 'lab up runs a ToR by default');
    const text = formatReport(report);
    for (const n of bgp.nodes) {
      assert.deepEqual(
        n.sessions.map((s) => s.state),
        ['Established', 'Established'],
      );
      // Two families from each of the two other nodes.
      assert.equal(n.learned.length, 4);
      for (const r of n.learned)
        assert.match(text, new RegExp(`${n.node} +${r.prefix.replaceAll('.', '\\.')} `));
    }
    assert.equal(bgp.tor.routes.length, 6);
    assert.match(text, /TOR \(FRR, AS 65000\) BGP TABLE/);
  });

  it('reaches every pod from every pod over both families', () => {
    assert.equal(report.reachability.length, 30);
    const failed = report.reachability.filter((r) => !r.ipv4 || !r.ipv6);
    assert.deepEqual(failed, [], formatReport(report));
  });

  it('each agent is ready and counts its CNI requests in /metrics', () => {
    const fetchScript = (path: string): string =>
      `fetch('http://127.0.0.1:${AGENT_HTTP_PORT}${path}').then(async (r) => { console.log(r.status); console.log(await r.text()); })`;
    for (const node of report.nodes) {
      const ready = runInNode(node.netns, fetchScript('/readyz'));
      assert.match(ready, /^200\nready/);
      const metrics = runInNode(node.netns, fetchScript('/metrics'));
      assert.match(metrics, /trellis_cni_requests_total\{command="ADD",code="0"\} 2\n/);
      assert.match(metrics, /trellis_ipam_allocated_addresses/);
    }
  });

  it('tears down every namespace, agent and FRR daemon', async () => {
    assert.ok(processesUsing(join(dir, 'tor')).length >= 2, 'zebra and bgpd were running');
    await labTeardown(dir, prefix);
    assert.deepEqual(processesUsing(dir), []);
    assert.deepEqual(
      listNamespaces().filter((ns) => ns.startsWith(`${prefix}-`)),
      [],
    );
    assert.equal(existsSync(dir), false);
  });
});

function runInNode(netns: string, script: string): string {
  return execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], { encoding: 'utf8' });
}
