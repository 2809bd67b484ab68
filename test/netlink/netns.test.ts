import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  currentNetnsInode,
  NetlinkInputError,
  NetlinkSyscallError,
  NetnsAsyncCallbackError,
  netnsInode,
  RouteNetlink,
  readSysctl,
  withNetns,
  writeSysctl,
} from '../../src/netlink/index.js';
import { sysctlPath } from '../../src/netlink/netns.js';
import { ip, requireRoot, TestNamespaces, type TestNs } from './fixture.js';

describe('netlink/netns', () => {
  describe('sysctlPath', () => {
    it('maps dotted keys to /proc/sys, "/" standing for a dot inside a component', () => {
      assert.equal(sysctlPath('net.ipv4.conf.eth0.proxy_arp'), '/proc/sys/net/ipv4/conf/eth0/proxy_arp');
      assert.equal(
        sysctlPath('net.ipv4.conf.eth0/100.rp_filter'),
        '/proc/sys/net/ipv4/conf/eth0.100/rp_filter',
      );
    });

    it('refuses keys that would escape or be empty', () => {
      for (const bad of ['', 'net..ipv4', 'net.ipv4.', 'net./.x', 'net.ipv4.conf.//.x']) {
        assert.throws(() => sysctlPath(bad), NetlinkInputError, bad);
      }
    });
  });

  describe('in namespaces (root)', function () {
    this.timeout(30_000);
    const namespaces = new TestNamespaces();
    let a: TestNs;
    let b: TestNs;
    let home: number;

    before(function () {
      requireRoot(this);
    });

    beforeEach(() => {
      home = currentNetnsInode();
      a = namespaces.add('a');
      b = namespaces.add('b');
    });

    afterEach(() => {
      try {
        assert.equal(currentNetnsInode(), home, 'the main thread is back in its own namespace');
      } finally {
        namespaces.removeAll();
      }
    });

    it('runs the callback inside the namespace and returns its value', () => {
      const inside = withNetns(a.path, () => currentNetnsInode());
      assert.equal(inside, netnsInode(a.path));
      assert.notEqual(inside, home);
      assert.equal(currentNetnsInode(), home);
    });

    it('restores the original namespace when the callback throws', () => {
      const boom = new Error('boom');
      assert.throws(
        () =>
          withNetns(a.path, () => {
            throw boom;
          }),
        (err) => err === boom,
      );
      assert.equal(currentNetnsInode(), home);
    });

    it('refuses an async callback (its continuation would run in the wrong namespace) and restores', () => {
      assert.throws(() => withNetns(a.path, async () => 1), NetnsAsyncCallbackError);
      assert.equal(currentNetnsInode(), home);
    });

    it('nests: an inner switch returns to the outer namespace, the outer to the original', () => {
      const seen = withNetns(a.path, () => {
        const inner = withNetns(b.path, () => currentNetnsInode());
        return [inner, currentNetnsInode()];
      });
      assert.deepEqual(seen, [netnsInode(b.path), netnsInode(a.path)]);
    });

    it('fails cleanly for a namespace that does not exist', () => {
      assert.throws(
        () => withNetns(`/run/netns/${a.name}-missing`, () => 1),
        (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
      );
      assert.throws(
        () => withNetns('/proc/self/ns/uts', () => 1),
        NetlinkSyscallError,
        'not a net namespace',
      );
    });

    it('keeps a socket opened inside bound to that namespace after restoring', () => {
      const inA = RouteNetlink.open({ netnsPath: a.path });
      try {
        inA.createVeth({ name: 'only-in-a', peer: { name: 'peer-a' } });
        assert.deepEqual(
          inA
            .listLinks()
            .map((l) => l.name)
            .sort(),
          ['lo', 'only-in-a', 'peer-a'],
        );
        assert.match(ip(['-n', a.name, 'link', 'show', 'only-in-a']), /only-in-a/);
        assert.throws(() => ip(['-n', b.name, 'link', 'show', 'only-in-a']));
      } finally {
        inA.close();
      }
    });

    it('writes sysctls into the given namespace only', () => {
      const hostForwarding = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
      writeSysctl('net.ipv4.ip_forward', 1, a.path);
      assert.equal(readSysctl('net.ipv4.ip_forward', a.path), '1');
      assert.equal(readSysctl('net.ipv4.ip_forward', b.path), '0');
      assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostForwarding);
      // Per-interface key, checked by an independent reader inside the namespace.
      const inA = RouteNetlink.open({ netnsPath: a.path });
      try {
        inA.createVeth({ name: 'pa0', peer: { name: 'pa1' } });
      } finally {
        inA.close();
      }
      writeSysctl('net.ipv4.conf.pa0.proxy_arp', '1', a.path);
      const seen = ip(['netns', 'exec', a.name, 'cat', '/proc/sys/net/ipv4/conf/pa0/proxy_arp']).trim();
      assert.equal(seen, '1');
      assert.equal(readSysctl('net.ipv4.conf.pa1.proxy_arp', a.path), '0');
    });
  });
});
