import assert from 'node:assert/strict';
import { IssueList } from '../../policy/issues.js';
import type { LabelSelector } from '../../policy/model.js';
import { canonicalSelector, parseSelector, selectorMatches } from '../../policy/selector.js';

describe('policy/selector', () => {
  describe('selectorMatches', () => {
    const labels = { app: 'web', tier: 'front' };
    const cases: [string, LabelSelector, Record<string, string>, boolean][] = [
      ['empty selector matches everything', {}, labels, true],
      ['empty selector matches no labels', {}, {}, true],
      ['matchLabels equal', { matchLabels: { app: 'web' } }, labels, true],
      ['matchLabels different value', { matchLabels: { app: 'db' } }, labels, false],
      ['matchLabels all must match', { matchLabels: { app: 'web', tier: 'back' } }, labels, false],
      [
        'In with the value',
        { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] },
        labels,
        true,
      ],
      [
        'In without the value',
        { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] },
        labels,
        false,
      ],
      [
        'In on absent key',
        { matchExpressions: [{ key: 'x', operator: 'In', values: ['web'] }] },
        labels,
        false,
      ],
      [
        'NotIn with the value',
        { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
        labels,
        false,
      ],
      [
        'NotIn without the value',
        { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] },
        labels,
        true,
      ],
      [
        'NotIn on absent key matches',
        { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] },
        labels,
        true,
      ],
      ['Exists present', { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels, true],
      ['Exists absent', { matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels, false],
      ['DoesNotExist absent', { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels, true],
      [
        'DoesNotExist present',
        { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
        labels,
        false,
      ],
      [
        'matchLabels AND matchExpressions',
        {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }],
        },
        labels,
        false,
      ],
      ['empty label value is a value', { matchLabels: { app: '' } }, { app: '' }, true],
    ];
    for (const [name, selector, l, expected] of cases) {
      it(name, () => assert.equal(selectorMatches(selector, l), expected));
    }
  });

  describe('canonicalSelector', () => {
    it('is empty for the empty selector', () => {
      assert.equal(canonicalSelector({}), '');
      assert.equal(canonicalSelector({ matchLabels: {}, matchExpressions: [] }), '');
    });

    it('renders every operator in API machinery syntax, sorted by key', () => {
      const text = canonicalSelector({
        matchLabels: { z: '1' },
        matchExpressions: [
          { key: 'b', operator: 'NotIn', values: ['y', 'x'] },
          { key: 'a', operator: 'In', values: ['2', '1'] },
          { key: 'd', operator: 'DoesNotExist' },
          { key: 'c', operator: 'Exists' },
        ],
      });
      assert.equal(text, 'a in (1,2),b notin (x,y),c,!d,z=1');
    });

    it('gives equivalent selectors the same text', () => {
      const a = canonicalSelector({ matchLabels: { app: 'web' } });
      const b = canonicalSelector({
        matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'web'] }],
      });
      const c = canonicalSelector({
        matchLabels: { app: 'web' },
        matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }],
      });
      assert.equal(a, 'app=web');
      assert.equal(b, a);
      assert.equal(c, a);
    });

    it('distinguishes selectors that select differently', () => {
      assert.notEqual(
        canonicalSelector({ matchLabels: { a: 'b' } }),
        canonicalSelector({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['b'] }] }),
      );
    });
  });

  describe('parseSelector', () => {
    const problems = (value: unknown): string[] => {
      const issues = new IssueList();
      parseSelector(value, 'sel', issues);
      return issues.items.map((i) => `${i.code} ${i.path}`);
    };

    it('accepts a valid selector unchanged', () => {
      const issues = new IssueList();
      const value = {
        matchLabels: { 'example.com/app': 'web' },
        matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }],
      };
      assert.deepEqual(parseSelector(value, 'sel', issues), value);
      assert.deepEqual(issues.items, []);
    });

    it('rejects an unknown operator', () => {
      assert.deepEqual(problems({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }), [
        'NotSupported sel.matchExpressions[0].operator',
      ]);
    });

    it('requires values for In and NotIn', () => {
      assert.deepEqual(problems({ matchExpressions: [{ key: 'a', operator: 'In' }] }), [
        'Required sel.matchExpressions[0].values',
      ]);
      assert.deepEqual(problems({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }), [
        'Required sel.matchExpressions[0].values',
      ]);
    });

    it('forbids values for Exists and DoesNotExist', () => {
      assert.deepEqual(problems({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), [
        'Forbidden sel.matchExpressions[0].values',
      ]);
      assert.deepEqual(
        problems({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: ['x'] }] }),
        ['Forbidden sel.matchExpressions[0].values'],
      );
    });

    it('rejects bad keys and values', () => {
      assert.deepEqual(problems({ matchLabels: { 'a b': 'c' } }), ['Invalid sel.matchLabels']);
      assert.deepEqual(problems({ matchLabels: { a: 'b c' } }), ['Invalid sel.matchLabels.a']);
      assert.deepEqual(problems({ matchLabels: { a: 5 } }), ['TypeInvalid sel.matchLabels.a']);
      assert.deepEqual(problems({ matchLabels: { 'Bad_Prefix/a': 'b' } }), ['Invalid sel.matchLabels']);
      assert.deepEqual(problems({ matchLabels: { [`${'a'.repeat(64)}`]: 'b' } }), [
        'Invalid sel.matchLabels',
      ]);
      assert.deepEqual(problems({ matchExpressions: [{ key: 'a', operator: 'In', values: ['-x'] }] }), [
        'Invalid sel.matchExpressions[0].values[0]',
      ]);
      assert.deepEqual(problems({ matchExpressions: [{ operator: 'Exists' }] }), [
        'Required sel.matchExpressions[0].key',
      ]);
    });

    it('rejects a non-object selector', () => {
      assert.deepEqual(problems('app=web'), ['TypeInvalid sel']);
      assert.deepEqual(problems({ matchExpressions: {} }), ['TypeInvalid sel.matchExpressions']);
    });
  });
});
