// LinkFlapTracker's decisions (pure), and LinkMonitor reading the kernel's real link
// notifications in a namespace of its own (root).
import assert from 'node:assert/strict';
import { LinkFlapTracker, LinkMonitor, RouteNetlink } from '../../src/netlink/index.js';
import { addUplink, ip, requireRoot, TestNamespaces, type TestNs } from './fixture.js';

describe('netlink LinkFlapTracker', () => {
  it('reports a link that went down and came back up, once', () => {
    const t = new LinkFlapTracker();
    assert.equal(t.observe(3, true), false, 'first sight');
    assert.equal(t.observe(3, true), false, 'still up (an MTU or carrier change)');
    assert.equal(t.observe(3, false), false, 'down');
    assert.equal(t.observe(3, false), false);
    assert.equal(t.observe(3, true), true, 'back up');
    assert.equal(t.observe(3, true), false, 'reported once');
  });

  it('does not report a new link set up (a pod veth), nor one whose index was reused', () => {
    const t = new LinkFlapTracker();
    assert.equal(t.observe(7, false), false);
    assert.equal(t.observe(7, true), false, 'created down, then set up: nothing was lost with it');
    t.observe(8, true);
    t.observe(8, false);
    t.forget(8);
    assert.equal(t.observe(8, false), false);
    assert.equal(t.observe(8, true), false, 'another link with the same index');
  });
});

describe('netlink LinkMonitor (root, kernel)', function () {
  this.timeout(20_000);
  const namespaces = new TestNamespaces();
  let ns: TestNs;
  const monitors: LinkMonitor[] = [];

  before(function () {
    requireRoot(this);
  });

  beforeEach(() => {
    ns = namespaces.add('linkmon');
    addUplink(ns);
  });

  afterEach(() => {
    for (const m of monitors.splice(0)) m.close();
    namespaces.removeAll();
  });

  const open = (): LinkMonitor => {
    const nl = RouteNetlink.open({ netnsPath: ns.path });
    try {
      const m = LinkMonitor.open({ netnsPath: ns.path, links: nl });
      monitors.push(m);
      return m;
    } finally {
      nl.close();
    }
  };

  it('says an interface came back up after an admin down, and nothing more until the next flap', () => {
    const monitor = open();
    assert.equal(monitor.cameBackUp(), false, 'nothing happened yet');
    ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
    assert.equal(monitor.cameBackUp(), false, 'down is not back up');
    ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
    assert.equal(monitor.cameBackUp(), true);
    assert.equal(monitor.cameBackUp(), false, 'read once');
    // Down and up between two polls still counts.
    ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
    ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
    assert.equal(monitor.cameBackUp(), true);
  });

  it('stays quiet while pod-like veths are created, set up and deleted', () => {
    const monitor = open();
    for (let i = 0; i < 3; i++) {
      ip(['-n', ns.name, 'link', 'add', `pod${i}`, 'type', 'veth', 'peer', 'name', `pod${i}p`]);
      ip(['-n', ns.name, 'link', 'set', `pod${i}`, 'up']);
      ip(['-n', ns.name, 'link', 'set', `pod${i}p`, 'up']);
    }
    ip(['-n', ns.name, 'link', 'del', 'pod0']);
    assert.equal(monitor.cameBackUp(), false);
  });

  it('closes idempotently, and reads nothing once closed', () => {
    const monitor = open();
    ip(['-n', ns.name, 'link', 'set', 'up0', 'down']);
    ip(['-n', ns.name, 'link', 'set', 'up0', 'up']);
    monitor.close();
    monitor.close();
    assert.equal(monitor.cameBackUp(), false);
  });
});
