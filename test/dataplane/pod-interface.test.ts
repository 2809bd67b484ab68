// Pod interfaces on the real kernel: a node namespace with two pods, created through
// PodInterfaces exactly as the CNI handler does, must forward between the pods over the
// proxy-ARP / link-local gateway, pass CHECK, fail CHECK once broken, and leave nothing on DEL.
import assert from 'node:assert/strict';
import { HOST_VETH_MAC, hostVethName } from '../../agent/dataplane/naming.js';
import { AttachmentExistsError, PodCheckError, PodInterfaces } from '../../agent/dataplane/pod-interface.js';
import { Lab, requireRoot } from '../../src/lab/index.js';
import { silentLogger } from '../../src/log.js';
import { RouteNetlink, TRELLIS_RT_PROTO } from '../../src/netlink/index.js';
import { tcpEcho } from '../util/tcp.js';

describe('pod interfaces (root, real kernel)', () => {
  let lab: Lab;
  let node: RouteNetlink;
  let pods: PodInterfaces;
  let nodeNs: string;

  before(async function () {
    requireRoot(this);
    lab = await Lab.create();
    [nodeNs] = await lab.addNamespaces(['node', 'up'], { sysctls: { 'net.ipv4.ip_forward': 1 } });
    await lab.addNamespaces(['pa', 'pb']);
    // Proxy ARP answers for 169.254.1.1 only when the node has a route covering it out of
    // another interface: give the node an uplink and a default route, as a real node has.
    await lab.connect({
      a: { ns: 'node', ifname: 'up0', address: ['192.0.2.1/24', '2001:db8::1/64'] },
      b: { ns: 'up', ifname: 'eth0', address: ['192.0.2.2/24', '2001:db8::2/64'] },
    });
    await lab.ip('node', ['route add default via 192.0.2.2', 'route add ::/0 via 2001:db8::2']);
    await lab.exec('node', 'sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']);
    node = RouteNetlink.open({ netnsPath: `/run/netns/${nodeNs}` });
    pods = new PodInterfaces(node, silentLogger, `/run/netns/${nodeNs}`);
  });

  after(async () => {
    node?.close();
    await lab?.teardown();
  });

  const attachment = (pod: string, v4: string, v6: string) => ({
    containerId: `cid-${pod}`,
    ifname: 'eth0',
    netnsPath: `/run/netns/${lab.nsName(pod)}`,
    mtu: 1400,
    addresses: [
      { family: 4 as const, address: v4 },
      { family: 6 as const, address: v6 },
    ],
  });

  it('connects two pods through the node over IPv4 and IPv6 with /32 and /128 routes only', async () => {
    const a = attachment('pa', '10.244.0.2', 'fd00:244::2');
    const b = attachment('pb', '10.244.0.3', 'fd00:244::3');
    const infoA = pods.add(a);
    pods.add(b);
    assert.equal(infoA.hostIfname, hostVethName('cid-pa', 'eth0'));
    assert.match(infoA.hostIfname, /^trl[0-9a-f]{11}$/);

    const hostLink = node.getLink(infoA.hostIfname);
    assert.equal(hostLink.mac, HOST_VETH_MAC);
    assert.equal(hostLink.mtu, 1400);
    const ours = node.listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO });
    assert.ok(ours.some((r) => r.dst === '10.244.0.2/32' && r.oif === hostLink.index && r.scope === 'link'));

    const podAddr = await lab.exec('pa', 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(podAddr.stdout, /inet 10\.244\.0\.2\/32/);
    assert.match(podAddr.stdout, /inet6 fd00:244::2\/128/);
    const podRoutes = await lab.exec('pa', 'ip', ['route', 'show']);
    assert.match(podRoutes.stdout, /default via 169\.254\.1\.1 dev eth0/);

    await lab.exec('pa', 'ping', ['-c1', '-W2', '10.244.0.3']);
    await lab.exec('pb', 'ping', ['-c1', '-W2', '10.244.0.2']);
    await lab.exec('pa', 'ping', ['-6', '-c1', '-W2', 'fd00:244::3']);
    assert.equal(await tcpEcho(lab, 'pa', 'pb', '10.244.0.3'), true, 'TCP over IPv4');
    assert.equal(await tcpEcho(lab, 'pb', 'pa', 'fd00:244::2'), true, 'TCP over IPv6');
    pods.check(a);
    pods.check(b);
  });

  it('refuses a duplicate ADD and leaves the first attachment working', async () => {
    const a = attachment('pa', '10.244.0.2', 'fd00:244::2');
    assert.throws(() => pods.add(a), AttachmentExistsError);
    pods.check(a);
    await lab.exec('pa', 'ping', ['-c1', '-W2', '10.244.0.3']);
  });

  it('CHECK names what is broken', async () => {
    const b = attachment('pb', '10.244.0.3', 'fd00:244::3');
    await lab.ip('pb', ['route del default']);
    assert.throws(
      () => pods.check(b),
      (err: unknown) =>
        err instanceof PodCheckError && err.problems.some((p) => p.includes('0.0.0.0/0 via 169.254.1.1')),
    );
    await lab.ip('pb', ['route add default via 169.254.1.1 dev eth0']);
    pods.check(b);
  });

  it('DEL removes veths and routes, and is idempotent', () => {
    assert.equal(pods.del('cid-pa', 'eth0'), true);
    assert.equal(pods.del('cid-pb', 'eth0'), true);
    assert.equal(pods.del('cid-pb', 'eth0'), false);
    assert.equal(pods.listHostVeths().length, 0);
    const ours = [
      ...node.listRoutes({ family: 4, protocol: TRELLIS_RT_PROTO }),
      ...node.listRoutes({ family: 6, protocol: TRELLIS_RT_PROTO }),
    ];
    assert.deepEqual(ours, []);
  });

  it('a failed ADD (interface name taken in the pod) leaves no host veth', async () => {
    await lab.ip('pa', ['link add eth0 type veth peer name spare']);
    const a = attachment('pa', '10.244.0.2', 'fd00:244::2');
    assert.throws(() => pods.add(a));
    assert.equal(node.findLink(hostVethName('cid-pa', 'eth0')), undefined);
    await lab.ip('pa', ['link del eth0']);
  });
});
