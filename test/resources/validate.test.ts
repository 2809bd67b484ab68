import assert from 'node:assert/strict';
import type { Resource } from '../../src/datastore/types.js';
import { DatastoreError } from '../../src/datastore/types.js';
import {
  type BGPPeer,
  type IPPool,
  resourceDefinitions,
  ValidationError,
  type ValidationIssue,
  validateAs,
  validateResource,
} from '../../src/resources/index.js';
import { sample, validSamples, withSpec } from './samples.js';

/** The issues validateResource reports for obj (fails the test if it accepts it). */
function issuesOf(obj: unknown): readonly ValidationIssue[] {
  try {
    validateResource(obj);
  } catch (e) {
    assert.ok(e instanceof ValidationError, String(e));
    return e.issues;
  }
  assert.fail(`accepted ${JSON.stringify(obj)}`);
}

function assertIssue(obj: unknown, path: string, message: RegExp): void {
  const issues = issuesOf(obj);
  assert.ok(
    issues.some((i) => i.path === path && message.test(i.message)),
    `expected ${path}: ${message} in ${JSON.stringify(issues)}`,
  );
}

describe('resources/validateResource', () => {
  it('accepts every valid sample without modifying it', () => {
    for (const s of validSamples) {
      const before = structuredClone(s);
      const valid = validateResource(s);
      assert.deepEqual(s, before);
      assert.equal(valid.metadata.name, s.metadata.name);
    }
  });

  it('is idempotent: a validated object validates to itself', () => {
    for (const s of validSamples) {
      const once = validateResource(s);
      assert.deepEqual(validateResource(once), once);
    }
  });

  it('applies static and family-dependent IPPool defaults', () => {
    const v4 = validateAs<IPPool>('IPPool', sample('IPPool'));
    assert.deepEqual(v4.spec, {
      cidr: '10.244.0.0/16',
      blockSize: 26,
      disabled: false,
      natOutgoing: false,
      disableBGPExport: false,
    });
    const v6 = validateAs<IPPool>('IPPool', withSpec(sample('IPPool'), { cidr: 'fd00::/64' }));
    assert.equal(v6.spec.blockSize, 122);
  });

  it('applies nested defaults only where the parent object is present', () => {
    const peer = validateAs<BGPPeer>('BGPPeer', sample('BGPPeer'));
    assert.deepEqual(peer.spec.gracefulRestart, { enabled: true, restartTime: 60 });
    assert.equal(peer.spec.port, 179);
    assert.equal(peer.spec.routeReflectorClient, false);
    const bare = validateAs<BGPPeer>('BGPPeer', withSpec(sample('BGPPeer'), { gracefulRestart: undefined }));
    assert.equal(bare.spec.gracefulRestart, undefined);
  });

  it('formats the message with kind, name, field and rule', () => {
    const bad = withSpec(sample('IPPool'), { blockSize: 19 });
    assert.throws(
      () => validateResource(bad),
      (e: unknown) =>
        e instanceof ValidationError &&
        e instanceof DatastoreError &&
        e.reason === 'Invalid' &&
        e.message === 'IPPool "p1": spec.blockSize: must be between 20 and 32 for an IPv4 pool (got 19)' &&
        e.issues.length === 1,
    );
  });

  describe('IPPool', () => {
    const pool = (patch: Record<string, unknown>): Resource => withSpec(sample('IPPool'), patch);
    it('rejects host bits, naming the network', () => {
      assertIssue(
        pool({ cidr: '10.244.0.1/16' }),
        'spec.cidr',
        /host bits are set; the network is 10\.244\.0\.0\/16/,
      );
    });
    it('rejects a malformed CIDR', () => {
      assertIssue(pool({ cidr: '10.244.0.0' }), 'spec.cidr', /CIDR/);
      assertIssue(pool({ cidr: 42 }), 'spec.cidr', /must be a string \(got 42\)/);
    });
    it('rejects block sizes outside the family range or larger than the pool', () => {
      assertIssue(pool({ blockSize: 33 }), 'spec.blockSize', /between 20 and 32 for an IPv4 pool \(got 33\)/);
      assertIssue(
        pool({ cidr: 'fd00::/64', blockSize: 26 }),
        'spec.blockSize',
        /between 116 and 128 for an IPv6/,
      );
      assertIssue(
        pool({ cidr: '10.0.0.0/28', blockSize: 26 }),
        'spec.blockSize',
        />= the pool's prefix length 28/,
      );
      assertIssue(pool({ blockSize: 26.5 }), 'spec.blockSize', /must be an integer/);
    });
    it('rejects overlap with link-local ranges', () => {
      assertIssue(pool({ cidr: '169.254.0.0/16' }), 'spec.cidr', /link-local/);
      assertIssue(pool({ cidr: '169.0.0.0/8' }), 'spec.cidr', /link-local 169\.254\.0\.0\/16/);
      assertIssue(pool({ cidr: 'fe80::/64' }), 'spec.cidr', /IPv6 link-local/);
      assertIssue(
        pool({ cidr: '0:0:0:1:2::/80', blockSize: 122 }),
        'spec.cidr',
        /IETF-reserved IPv6 range ::\/8/,
      );
    });
    it('rejects unknown fields and bad selectors', () => {
      assertIssue(pool({ blocksize: 26 }), 'spec.blocksize', /is not a known field/);
      assertIssue(
        pool({ nodeSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }),
        'spec.nodeSelector.matchExpressions[0].values',
        /non-empty for operator In/,
      );
      assertIssue(
        pool({ nodeSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }),
        'spec.nodeSelector.matchExpressions[0].operator',
        /must be one of In, NotIn, Exists, DoesNotExist/,
      );
    });
    it('reports every problem at once', () => {
      const issues = issuesOf({
        ...pool({ cidr: '10.0.0.1/8', natOutgoing: 'yes' }),
        metadata: { name: 'Bad_Name' },
      });
      assert.deepEqual(issues.map((i) => i.path).sort(), ['metadata.name', 'spec.cidr', 'spec.natOutgoing']);
    });
  });

  describe('BGPConfiguration', () => {
    const cfg = (patch: Record<string, unknown>): Resource => withSpec(sample('BGPConfiguration'), patch);
    it('defaults the documented values', () => {
      const v = validateResource({ ...sample('BGPConfiguration'), spec: {} });
      assert.deepEqual(v.spec, {
        asNumber: 64512,
        nodeToNodeMesh: true,
        listenPort: 179,
        gracefulRestartTime: 120,
        keepaliveTime: 30,
        holdTime: 90,
      });
    });
    it('checks community syntax and ranges with bracketed paths', () => {
      assertIssue(
        cfg({ communities: [{ standard: ['65000:100', '65000:70000'] }] }),
        'spec.communities[0].standard[1]',
        /0\.\.65535 \(got "65000:70000"\)/,
      );
      assertIssue(
        cfg({ communities: [{ large: ['1:2'] }] }),
        'spec.communities[0].large[0]',
        /3 colon-separated/,
      );
      assertIssue(
        cfg({ communities: [{ prefix: '10.0.0.0/8' }] }),
        'spec.communities[0]',
        /at least one of standard, large/,
      );
    });
    it('checks AS number, hold time and keepalive', () => {
      assertIssue(cfg({ asNumber: 0 }), 'spec.asNumber', /between 1 and 4294967295 \(got 0\)/);
      assertIssue(cfg({ asNumber: 23456 }), 'spec.asNumber', /AS_TRANS/);
      assertIssue(cfg({ holdTime: 2 }), 'spec.holdTime', /must be 0 or between 3 and 65535 \(got 2\)/);
      assertIssue(cfg({ holdTime: 9, keepaliveTime: 9 }), 'spec.keepaliveTime', /less than holdTime 9/);
      assertIssue(cfg({ serviceCIDRs: ['10.96.0.1/12'] }), 'spec.serviceCIDRs[0]', /host bits/);
    });
  });

  describe('BGPPeer', () => {
    const peer = (patch: Record<string, unknown>): Resource => withSpec(sample('BGPPeer'), patch);
    it('requires peerIP and asNumber', () => {
      const issues = issuesOf({ ...sample('BGPPeer'), spec: {} });
      assert.deepEqual(issues.map((i) => `${i.path}: ${i.message}`).sort(), [
        'spec.asNumber: is required',
        'spec.peerIP: is required',
      ]);
    });
    it('checks addresses and their families', () => {
      assertIssue(peer({ peerIP: '300.1.1.1' }), 'spec.peerIP', /IPv4 or IPv6 address/);
      assertIssue(peer({ peerIP: '::ffff:192.0.2.1' }), 'spec.peerIP', /write the IPv4 address 192\.0\.2\.1/);
      assertIssue(peer({ sourceAddress: 'fd00::2' }), 'spec.sourceAddress', /IPv4 address like peerIP/);
    });
    it('enforces exactly one password source and node xor nodeSelector', () => {
      assertIssue(peer({ password: {} }), 'spec.password', /exactly one of secretKeyRef, file/);
      assertIssue(
        peer({ password: { file: '/a', secretKeyRef: { name: 'n', key: 'k' } } }),
        'spec.password',
        /exactly one of secretKeyRef, file/,
      );
      assertIssue(peer({ node: 'node-1' }), 'spec', /must not set node and nodeSelector together/);
    });
    it('checks enums and the graceful-restart field width', () => {
      assertIssue(
        peer({ nextHopMode: 'self' }),
        'spec.nextHopMode',
        /one of Auto, Self, Keep \(got "self"\)/,
      );
      assertIssue(
        peer({ gracefulRestart: { restartTime: 4096 } }),
        'spec.gracefulRestart.restartTime',
        /0 and 4095/,
      );
      assertIssue(peer({ gracefulRestart: {} }), 'spec.gracefulRestart.restartTime', /is required/);
    });
  });

  describe('TrellisNode', () => {
    const node = (patch: Record<string, unknown>): Resource => withSpec(sample('TrellisNode'), patch);
    it('needs at least one address, each with its prefix and family', () => {
      assertIssue(node({ addresses: {} }), 'spec.addresses', /at least one of ipv4, ipv6/);
      assertIssue(node({ addresses: { ipv4: '10.0.0.1' } }), 'spec.addresses.ipv4', /with prefix length/);
      assertIssue(node({ addresses: { ipv4: 'fd00::1/64' } }), 'spec.addresses.ipv4', /not an IPv4 address/);
      assertIssue(node({ routeReflectorClusterID: '1' }), 'spec.routeReflectorClusterID', /IPv4 address/);
    });
    it('validates label syntax in metadata', () => {
      const bad = {
        ...sample('TrellisNode'),
        metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'a b' } },
      };
      assertIssue(bad, 'metadata.labels["topology.kubernetes.io/zone"]', /label value/);
    });
  });

  describe('IPAMBlock and BlockAffinity', () => {
    it('requires the name derived from the CIDR', () => {
      const block = { ...sample('IPAMBlock'), metadata: { name: 'block-a' } };
      assertIssue(block, 'metadata.name', /must be "10-244-0-64-26"/);
      const aff = { ...sample('BlockAffinity'), metadata: { name: 'node-2.10-244-0-64-26' } };
      assertIssue(aff, 'metadata.name', /must be "node-1\.10-244-0-64-26"/);
    });
    it('keeps ordinals inside the block and seqs below nextSeq', () => {
      const block = (patch: Record<string, unknown>): Resource => withSpec(sample('IPAMBlock'), patch);
      assertIssue(block({ unallocated: [64] }), 'spec.unallocated[0]', /must be < 64/);
      assertIssue(block({ unallocated: [1, 1] }), 'spec.unallocated[1]', /twice/);
      assertIssue(block({ nextSeq: 0 }), 'spec.allocations[0].seq', /< nextSeq 0/);
      assertIssue(block({ affinity: undefined }), 'spec.affinity', /is required/);
      assertIssue(block({ affinity: 7 }), 'spec.affinity', /must be a string/);
    });
    it('accepts a null affinity and rejects a bad state', () => {
      const unowned = withSpec(sample('IPAMBlock'), { affinity: null });
      assert.equal((validateResource(unowned).spec as { affinity: unknown }).affinity, null);
      assertIssue(withSpec(sample('BlockAffinity'), { state: 'done' }), 'spec.state', /pendingDeletion/);
    });
  });

  describe('envelope and Kubernetes kinds', () => {
    it('rejects non-objects, missing or unknown kinds and wrong apiVersions', () => {
      assertIssue('x', '', /must be an object/);
      assertIssue({ metadata: { name: 'a' } }, 'kind', /is required/);
      assertIssue({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'a' } }, 'kind', /unknown kind/);
      assertIssue({ ...sample('IPPool'), apiVersion: 'v1' }, 'apiVersion', /trellis\.network\/v1 for IPPool/);
      assertIssue(
        { ...sample('IPPool'), metadata: { name: 'p1', namespace: 'x' } },
        'metadata.namespace',
        /cluster-scoped/,
      );
      assertIssue({ ...sample('IPPool'), metadata: undefined }, 'metadata', /is required/);
    });
    it('stores Kubernetes kinds as they are after a metadata check', () => {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'default' },
        spec: { anything: ['goes'] },
      };
      assert.deepEqual(validateResource(pod), pod);
      assertIssue({ ...pod, metadata: { name: 'web' } }, 'metadata.namespace', /required for Pod/);
      assertIssue(
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } },
        'metadata.name',
        /DNS label/,
      );
      assertIssue({ ...pod, apiVersion: 'networking.k8s.io/v1' }, 'apiVersion', /must be v1/);
    });
    it('validateAs insists on the kind', () => {
      assert.throws(() => validateAs('BGPPeer', sample('IPPool')), /kind: must be BGPPeer/);
    });
  });

  it('has a definition for every kind in the samples and vice versa', () => {
    assert.deepEqual(
      new Set(resourceDefinitions.map((d) => d.kind)),
      new Set(validSamples.map((s) => s.kind)),
    );
  });
});
