import assert from 'node:assert/strict';
import { PolicyInputs } from '../../agent/daemon/policy-inputs.js';
import type { Resource } from '../../src/datastore/types.js';

const policy = (name: string, port: unknown): Resource => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'x' },
  spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port }] }] },
});

const pod = (name: string, ip: string): Resource => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'x', labels: { app: name } },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 80 }] }] },
  status: { podIPs: [{ ip }] },
});

describe('agent policy inputs', () => {
  it('marks pods with a local address as endpoints on their host veth', () => {
    const inputs = new PolicyInputs();
    assert.deepEqual(inputs.upsert(pod('a', '10.244.0.2')), { ok: true });
    assert.deepEqual(inputs.upsert(pod('b', '10.244.9.9')), { ok: true });
    const state = inputs.state(new Map([['10.244.0.2', 'trl0123456789a']]));
    assert.equal(state.pods.find((p) => p.name === 'a')?.hostInterface, 'trl0123456789a');
    assert.equal(state.pods.find((p) => p.name === 'b')?.hostInterface, undefined);
  });

  it('keeps the last valid version of a policy that turns invalid, naming the field', () => {
    const inputs = new PolicyInputs();
    assert.deepEqual(inputs.upsert(policy('p', 80)), { ok: true });
    const bad = inputs.upsert(policy('p', 70000));
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.keptPrevious);
    assert.match(!bad.ok ? bad.error : '', /NetworkPolicy x\/p: spec\.ingress\[0\]\.ports\[0\]\.port/);
    const ports = inputs.state(new Map()).policies[0]?.spec.ingress?.[0]?.ports;
    assert.deepEqual(ports?.[0]?.port, 80);
  });

  it('skips a new invalid policy and forgets deleted objects', () => {
    const inputs = new PolicyInputs();
    const bad = inputs.upsert(policy('q', 0));
    assert.ok(!bad.ok && !bad.keptPrevious);
    assert.equal(inputs.state(new Map()).policies.length, 0);
    inputs.upsert(pod('a', '10.244.0.2'));
    inputs.remove(pod('a', '10.244.0.2'));
    assert.equal(inputs.state(new Map()).pods.length, 0);
  });
});

describe('agent policy inputs: unchanged objects', () => {
  it('parses an object again only when its resourceVersion changes', () => {
    const inputs = new PolicyInputs();
    const v1 = { ...policy('p', 80), metadata: { name: 'p', namespace: 'x', resourceVersion: '7' } };
    assert.deepEqual(inputs.upsert(v1), { ok: true });
    const first = inputs.state(new Map()).policies[0];
    // Same version, different content: a re-listing of an unchanged object is not parsed again.
    inputs.upsert({
      ...v1,
      spec: { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP', port: 70000 }] }] },
    });
    assert.equal(inputs.state(new Map()).policies[0], first);
    const v2 = { ...v1, metadata: { ...v1.metadata, resourceVersion: '8' }, spec: policy('p', 81).spec };
    assert.deepEqual(inputs.upsert(v2), { ok: true });
    assert.equal(inputs.state(new Map()).policies[0]?.spec.ingress?.[0]?.ports?.[0]?.port, 81);
  });

  it('hands the compiler the same pod object until the pod or its interface changes', () => {
    const inputs = new PolicyInputs();
    const v1 = {
      ...pod('a', '10.244.0.2'),
      metadata: { ...pod('a', '10.244.0.2').metadata, resourceVersion: '3' },
    };
    inputs.upsert(v1);
    const local = new Map([['10.244.0.2', 'trl0123456789a']]);
    const first = inputs.state(local).pods[0];
    assert.equal(inputs.state(local).pods[0], first, 'unchanged pod, unchanged interface: same object');
    const moved = inputs.state(new Map([['10.244.0.2', 'trl0123456789b']])).pods[0];
    assert.notEqual(moved, first);
    assert.equal(moved?.hostInterface, 'trl0123456789b');
    const gone = inputs.state(new Map()).pods[0];
    assert.equal(gone?.hostInterface, undefined);
    assert.ok(gone !== undefined && !('hostInterface' in gone), 'no interface key on a remote pod');
    const again = inputs.state(local).pods[0];
    assert.equal(again?.hostInterface, 'trl0123456789a');
    assert.equal(inputs.state(local).pods[0], again);
    const relabelled = {
      ...v1,
      metadata: { ...v1.metadata, resourceVersion: '4', labels: { app: 'other' } },
    };
    inputs.upsert(relabelled);
    const after = inputs.state(local).pods[0];
    assert.notEqual(after, again, 'a new version is a new object');
    assert.deepEqual(after?.labels, { app: 'other' });
    assert.equal(after?.hostInterface, 'trl0123456789a');
  });
});
