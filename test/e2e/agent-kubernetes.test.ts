// The agent on the Kubernetes datastore, end to end. An API server STAND-IN (no kube-apiserver
// can be installed here; test/k8s-apiserver speaks the real list/watch/409/410 protocol) runs
// inside a node namespace with a Node object and an IPPool; a real `trellis agent
// --datastore-type kubernetes` there takes its address from the Node object, registers its
// TrellisNode, and serves a real trellis-cni ADD whose IPAM claims live in the API as CRD objects.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentEnv, buildShim, REPO_ROOT, SHIM_PATH } from '../../agent/lab/cluster.js';
import { Lab, type LabProcess, requireRoot } from '../../src/lab/index.js';

describe('agent on the Kubernetes datastore (root; API server stand-in)', function () {
  this.timeout(60_000);
  let lab: Lab;
  let dir: string;
  let url: string;
  let standIn: LabProcess;
  let agent: LabProcess;

  const api = async (
    path: string,
  ): Promise<
    { items?: { metadata: { name: string }; spec: Record<string, unknown> }[] } & Record<string, unknown>
  > => {
    const r = await lab.exec('node', process.execPath, [
      '-e',
      `fetch('${url}${path}').then(async (r) => console.log(await r.text()))`,
    ]);
    return JSON.parse(r.stdout) as never;
  };

  before(async function () {
    requireRoot(this);
    buildShim();
    lab = await Lab.create();
    await lab.addNamespaces(['node', 'pod']);
    dir = mkdtempSync(join(tmpdir(), 'trlk8s-'));
    const seed = [
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'k1', labels: { 'kubernetes.io/hostname': 'k1' } },
        spec: { podCIDR: '10.96.64.0/24' },
        status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] },
      },
      {
        apiVersion: 'trellis.network/v1',
        kind: 'IPPool',
        metadata: { name: 'k8s-v4' },
        spec: { cidr: '10.96.0.0/16' },
      },
    ];
    standIn = await lab.spawn(
      'node',
      process.execPath,
      [join(REPO_ROOT, 'dist/test/k8s-apiserver/main.js'), JSON.stringify(seed)],
      {
        logFile: join(dir, 'apiserver.log'),
      },
    );
    const deadline = Date.now() + 10_000;
    while (!/^http:\/\/127\.0\.0\.1:\d+$/m.test(readFileSync(join(dir, 'apiserver.log'), 'utf8'))) {
      if (Date.now() > deadline) throw new Error('stand-in did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    url = (readFileSync(join(dir, 'apiserver.log'), 'utf8').match(/^http:\/\/127\.0\.0\.1:\d+$/m) ?? [''])[0];
    writeFileSync(
      join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        // A plain-HTTP stand-in: the client insists on this flag for http URLs.
        `clusters: [{name: c, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]`,
        'users: [{name: u, user: {token: test}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    agent = await lab.spawn(
      'node',
      process.execPath,
      [
        join(REPO_ROOT, 'dist/src/cli/main.js'),
        'agent',
        '--datastore-type',
        'kubernetes',
        '--kubeconfig',
        join(dir, 'kubeconfig'),
        '--node',
        'k1',
        '--cni-socket',
        join(dir, 'cni.sock'),
      ],
      { logFile: join(dir, 'agent.log') },
    );
    const socketDeadline = Date.now() + 15_000;
    while (!existsSync(join(dir, 'cni.sock'))) {
      if (Date.now() > socketDeadline)
        throw new Error(`agent did not start:\n${readFileSync(join(dir, 'agent.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  after(async () => {
    await lab?.teardown();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('registers its TrellisNode with the address from the Node object', async () => {
    const node = await api('/apis/trellis.network/v1/trellisnodes/k1');
    assert.deepEqual((node['spec'] as { addresses: unknown }).addresses, { ipv4: '192.0.2.10/32' });
  });

  it('attaches a pod through trellis-cni with IPAM state kept as CRD objects in the API', async () => {
    const config = {
      cniVersion: '1.1.0',
      name: 'k8s',
      type: 'trellis-cni',
      mtu: 1500,
      agentSocket: join(dir, 'cni.sock'),
      ipam: { type: 'trellis-ipam' },
    };
    const r = await lab.exec('node', SHIM_PATH, [], {
      input: JSON.stringify(config),
      env: {
        ...attachmentEnv('ADD', 'k8s-pod-1', `/run/netns/${lab.nsName('pod')}`),
        // As the kubelet passes them: the pod is in namespace "default".
        CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=p1',
      },
      allowFailure: true,
    });
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as { ips: { address: string }[] };
    const address = result.ips[0]?.address.split('/')[0] ?? '';
    assert.match(address, /^10\.96\./);
    const blocks = await api('/apis/trellis.network/v1/ipamblocks');
    const allocated = (blocks.items ?? []).flatMap((b) =>
      (b.spec['allocations'] as { handle: string }[]).map((a) => ({
        block: b.spec['cidr'],
        handle: a.handle,
      })),
    );
    assert.deepEqual(
      allocated.map((a) => a.handle),
      ['k8s-pod-1.eth0'],
    );
    const affinities = await api('/apis/trellis.network/v1/blockaffinities');
    assert.equal(affinities.items?.length, 1);
    assert.equal(affinities.items?.[0]?.spec['state'], 'confirmed');
  });

  it('keeps forwarding and enforcing while the API server is gone, and catches up when it returns', async () => {
    // Rules only: counters and the save's timestamps change on their own.
    const chains = async (): Promise<string> =>
      (await lab.exec('node', 'iptables-save', ['-t', 'filter'])).stdout
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
        .join('\n');
    // Let the pass for the pod attached above finish first.
    let before = await chains();
    for (let settled = 0; settled < 3; ) {
      await new Promise((r) => setTimeout(r, 300));
      const now = await chains();
      settled = now === before ? settled + 1 : 0;
      before = now;
    }
    process.kill(standIn.pid, 'SIGUSR1');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(
      (await lab.exec('node', 'kill', ['-0', String(agent.pid)], { allowFailure: true })).exitCode,
      0,
      'agent alive',
    );
    assert.equal(await chains(), before, 'the ruleset in force is untouched while the API is away');
    const pod = await lab.exec('node', 'ip', ['-o', 'link', 'show', 'type', 'veth']);
    assert.match(pod.stdout, /trl[0-9a-f]{11}/, 'the pod interface stays');
    process.kill(standIn.pid, 'SIGUSR2');
    // A policy created after the outage must reach the kernel: the agent re-watched and caught up.
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all', namespace: 'default' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    await lab.exec('node', process.execPath, [
      '-e',
      `fetch('${url}/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: process.argv[1] }).then((r) => { if (r.status !== 201) process.exit(1); })`,
      JSON.stringify(policy),
    ]);
    // deny-all isolates the pod for ingress: its to-workload chain now ends in a DROP.
    const isolated = /^-A trl-tw-trl[0-9a-f]{11} -m comment --comment "trl:[0-9a-f]+" -j DROP$/m;
    assert.doesNotMatch(before, isolated, 'open before the policy');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !isolated.test(await chains()))
      await new Promise((r) => setTimeout(r, 200));
    assert.match(await chains(), isolated, 'the policy created after the outage was programmed');
  });
});
