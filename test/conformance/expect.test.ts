// The expectation side of the conformance suite, without root: the evaluator's matrix for every
// step that carries a hand-written truth table must be exactly that table, so a misreading of
// the spec shared by the evaluator and the compiler is caught on the classic cases.
import assert from 'node:assert/strict';
import { CASES } from './cases.js';
import { expectedMatrix } from './expect.js';
import { allCells, describeMismatches, handTable, mismatches } from './matrix.js';
import { initialWorld, podId, type World } from './world.js';

describe('conformance: expected matrices', () => {
  const ids = initialWorld().pods.map(podId);

  for (const c of CASES) {
    let world: World = initialWorld();
    for (const step of c.steps) {
      world = step.relabel ? step.relabel(world) : world;
      const hand = step.hand;
      if (hand === undefined) continue;
      const stepWorld = world;
      const title = c.steps.length > 1 ? `${c.name} / ${step.description}` : c.name;
      it(`hand table agrees with the evaluator: ${title}`, () => {
        const expected = handTable(ids, hand.table, hand.services, hand.otherServicesTable);
        const computed = expectedMatrix(stepWorld, step.policies);
        const wrong = mismatches(allCells(ids), expected, computed);
        assert.equal(wrong.length, 0, `\n${describeMismatches(ids, expected, computed)}`);
      });
    }
  }

  it('every step of every case denies something or is a hand-checked allow-all', () => {
    // A case whose expected matrix is all-allowed would pass on a dataplane that enforces nothing.
    for (const c of CASES) {
      let world: World = initialWorld();
      for (const step of c.steps) {
        world = step.relabel ? step.relabel(world) : world;
        const denies = [...expectedMatrix(world, step.policies).values()].some((v) => !v);
        assert.ok(denies || step.hand !== undefined, `${c.name} / ${step.description} denies nothing`);
      }
    }
  });

  it('rejects malformed hand tables', () => {
    assert.throws(() => handTable(ids, 'x/a: ... ... ...'), /1 rows, want 9/);
    assert.throws(() => handTable(ids, 'x/a: ..?'), /bad hand table row/);
  });
});
