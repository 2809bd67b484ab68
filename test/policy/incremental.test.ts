import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compilePolicies } from '../../policy/compile.js';
import { IncrementalPolicyCompiler } from '../../policy/incremental.js';
import { PolicyValidationError } from '../../policy/issues.js';
import type { ClusterState, NetworkPolicy } from '../../policy/model.js';
import { type RenderedPolicy, renderPolicy } from '../../policy/render.js';
import { clusterArb, labels, NAMESPACES, podArb, policyArb } from './arbitraries.js';
import { syntheticCluster, withPolicyEdit, withTierChange } from './synthetic.js';

/** One edit of the cluster, as the datastore would deliver it; objects are replaced, never mutated. */
type Edit = (state: ClusterState) => ClusterState;

const POD_SLOTS = 8;
const POLICY_SLOTS = 6;

const upsertPod: fc.Arbitrary<Edit> = fc
  .integer({ min: 0, max: POD_SLOTS - 1 })
  .chain((i) => podArb(i))
  // Slot i owns pod name, address and interface, so a pod that moves namespace replaces itself.
  .map((pod) => (s) => ({ ...s, pods: [...s.pods.filter((p) => p.name !== pod.name), pod] }));

const relabelPod: fc.Arbitrary<Edit> = fc.tuple(fc.nat(), labels).map(([n, newLabels]) => (s) => {
  if (s.pods.length === 0) return s;
  const at = n % s.pods.length;
  return { ...s, pods: s.pods.map((p, i) => (i === at ? { ...p, labels: newLabels } : p)) };
});

const removePod: fc.Arbitrary<Edit> = fc
  .nat()
  .map((n) => (s) => ({ ...s, pods: s.pods.filter((_, i) => i !== n % Math.max(1, s.pods.length)) }));

const upsertPolicy: fc.Arbitrary<Edit> = fc
  .integer({ min: 0, max: POLICY_SLOTS - 1 })
  .chain((j) => policyArb(j))
  .map(
    (policy) => (s) =>
      ({
        ...s,
        policies: [...s.policies.filter((p) => p.metadata.name !== policy.metadata.name), policy],
      }) satisfies ClusterState,
  );

const removePolicy: fc.Arbitrary<Edit> = fc.nat().map((n) => (s) => ({
  ...s,
  policies: s.policies.filter((_, i) => i !== n % Math.max(1, s.policies.length)),
}));

const relabelNamespace: fc.Arbitrary<Edit> = fc
  .tuple(
    fc.constantFrom(...NAMESPACES),
    fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
    fc.boolean(),
  )
  .map(([name, team, present]) => (s) => {
    const others = s.namespaces.filter((ns) => ns.name !== name);
    if (!present) return { ...s, namespaces: others };
    return { ...s, namespaces: [...others, { name, labels: team === undefined ? {} : { team } }] };
  });

/** Same edit as the cluster is in, but with a policy the API server would reject. */
const invalidPolicy: fc.Arbitrary<Edit> = fc.constant((s) => {
  const bad: NetworkPolicy = {
    metadata: { namespace: 'x', name: 'bad' },
    spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] },
  };
  return { ...s, policies: [...s.policies, bad] };
});

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  upsertPod,
  relabelPod,
  removePod,
  upsertPolicy,
  removePolicy,
  relabelNamespace,
  invalidPolicy,
);

function fullRender(state: ClusterState): RenderedPolicy | PolicyValidationError {
  try {
    return renderPolicy(compilePolicies(state));
  } catch (err) {
    if (err instanceof PolicyValidationError) return err;
    throw err;
  }
}

function assertSameRender(actual: RenderedPolicy, expected: RenderedPolicy): void {
  assert.deepEqual(actual, expected);
  // Text forms are built lazily; they must match byte for byte too.
  assert.equal(actual.ipsetRestore, expected.ipsetRestore);
  assert.equal(actual.v4.filterRestore, expected.v4.filterRestore);
  assert.equal(actual.v6.filterRestore, expected.v6.filterRestore);
}

describe('policy/incremental: IncrementalPolicyCompiler', () => {
  it('after every edit of a random sequence, renders exactly what a fresh compile renders (property)', () => {
    fc.assert(
      fc.property(clusterArb, fc.array(editArb, { minLength: 1, maxLength: 12 }), (initial, edits) => {
        const renderer = new IncrementalPolicyCompiler();
        const compiler = new IncrementalPolicyCompiler();
        let state = initial;
        for (const edit of [(s: ClusterState) => s, ...edits]) {
          const next = edit(state);
          const expected = fullRender(next);
          if (expected instanceof PolicyValidationError) {
            // Rejected as a whole, with the same issues; the previous state stays the base.
            assert.throws(() => renderer.update(next), { message: expected.message });
            assert.throws(() => compiler.compile(next), { message: expected.message });
            continue;
          }
          assertSameRender(renderer.update(next), expected);
          assert.deepEqual(compiler.compile(next), compilePolicies(next));
          state = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches a fresh compile through label changes and policy edits of a synthetic cluster', () => {
    let state = syntheticCluster({ policies: 60, endpoints: 400, namespaces: 5 });
    const compiler = new IncrementalPolicyCompiler();
    assertSameRender(compiler.update(state), renderPolicy(compilePolicies(state)));
    for (let i = 0; i < 6; i++) {
      state = i % 2 === 0 ? withTierChange(state, i * 37, 1) : withPolicyEdit(state, i * 7, i);
      assertSameRender(compiler.update(state), renderPolicy(compilePolicies(state)));
    }
  });

  it('keeps unchanged chains and sets as the same objects, so the applier and renderer skip them', () => {
    const state = syntheticCluster({ policies: 40, endpoints: 200, namespaces: 4 });
    const compiler = new IncrementalPolicyCompiler();
    const before = compiler.update(state);
    const after = compiler.update(withTierChange(state, 5, 1));
    const reused = after.v4.chains.filter((c, i) => before.v4.chains[i] === c).length;
    assert.equal(reused, before.v4.chains.length, 'a label change rewrites no chain');
    assert.ok(
      after.sets.some((s, i) => before.sets[i] !== s),
      'the relabelled pod moved between sets',
    );
  });

  it('treats an equal copy of the whole cluster as no change', () => {
    const state = syntheticCluster({ policies: 20, endpoints: 100, namespaces: 3 });
    const compiler = new IncrementalPolicyCompiler();
    const first = compiler.compile(state);
    const copy = compiler.compile(structuredClone(state));
    assert.equal(copy.v4.endpoints[0], first.v4.endpoints[0]);
    assert.equal(copy.v4.sets[0], first.v4.sets[0]);
    assert.deepEqual(copy, first);
  });

  it('rejects invalid input as compilePolicies does and keeps its previous state', () => {
    const state = syntheticCluster({ policies: 10, endpoints: 50, namespaces: 2 });
    const compiler = new IncrementalPolicyCompiler();
    const good = compiler.update(state);
    const broken: ClusterState = {
      ...state,
      pods: state.pods.map((p, i) => (i === 3 ? { ...p, podIPs: ['10.0.0.300'] } : p)),
    };
    assert.throws(
      () => compiler.update(broken),
      (err: unknown) => {
        assert.ok(err instanceof PolicyValidationError);
        assert.deepEqual(err.issues, [
          { path: 'pods[3](ns1/pod3).podIPs[0]', code: 'Invalid', detail: '10.0.0.300 is not an IP address' },
        ]);
        return true;
      },
    );
    assertSameRender(compiler.update(state), good);
  });
});
