// Byte-identity of the compiler's and renderer's output across refactors: digests of the full
// IR and render of fixed clusters, recorded before the compiler was restructured for speed.
// A change here means the kernel ruleset changes for every user: only for intended changes,
// and then the new digests go in with the reason in the commit message.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { compilePolicies } from '../../policy/compile.js';
import { renderPolicy } from '../../policy/render.js';
import { clusterArb } from './arbitraries.js';
import { syntheticCluster } from './synthetic.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('policy: golden output', () => {
  it('a medium synthetic cluster compiles and renders to the recorded bytes', () => {
    const ir = compilePolicies(
      syntheticCluster({ policies: 120, endpoints: 900, namespaces: 6, dualStackEvery: 3 }),
    );
    const rendered = renderPolicy(ir);
    assert.equal(
      sha256(JSON.stringify(ir)),
      '7defe70d92ace1711b7b977a660b7af2a17403bdfc1b5648bd32ceed8e2285ef',
    );
    assert.equal(
      sha256(JSON.stringify(rendered)),
      '0cda91e43da076cf10abbb6efd84cf8b7598704d4e1412a2311189390517bc38',
    );
    assert.equal(
      sha256(rendered.ipsetRestore + rendered.v4.filterRestore + rendered.v6.filterRestore),
      '0b89dd9f0c7056fd17b0d43a25432e672d906fc31877d264bdde6e24c70d44fd',
    );
  });

  it('300 seeded random clusters (every selector, ipBlock and port shape) render to the recorded bytes', () => {
    const digest = createHash('sha256');
    let rendered = 0;
    for (const state of fc.sample(clusterArb, { seed: 20251128, numRuns: 300 })) {
      digest.update(JSON.stringify(renderPolicy(compilePolicies(state))));
      rendered++;
    }
    assert.equal(rendered, 300);
    assert.equal(digest.digest('hex'), '09a4682f204a646b273f4ab8213e533218702a5ec6c0158e4d00bf0e53193453');
  });
});
