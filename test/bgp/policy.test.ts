// Route policy: prefix lists (ge/le), community matches, actions, validation and translation
// from the speaker configuration.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parsePrefix } from '../../bgp/codec/index.js';
import type { Policy } from '../../bgp/config/index.js';
import {
  covers,
  definePolicy,
  entryMatches,
  evaluatePolicy,
  fromConfigPolicies,
  fromConfigPolicy,
  PolicyError,
  type RouteAction,
  type RoutePolicy,
} from '../../bgp/policy/index.js';
import { makePath, peerRef } from './fixtures/rib-builders.js';

const entry = (prefix: string, ge?: number, le?: number) => ({
  prefix: parsePrefix(prefix),
  ...(ge === undefined ? {} : { ge }),
  ...(le === undefined ? {} : { le }),
});
const CTX = { prependAs: 65000 };
const src = peerRef('tor');

function run(actions: RouteAction[], spec = {}) {
  const path = makePath(src, spec);
  const policy = definePolicy({
    name: 'p',
    statements: [{ match: {}, result: 'accept', actions }],
    defaultResult: 'reject',
  });
  const v = evaluatePolicy(policy, path.prefix, path.attrs, CTX);
  assert.ok(v.accepted);
  return v;
}

describe('bgp/policy', () => {
  describe('prefix lists', () => {
    it('exact length unless ge/le; ge alone up to the maximum; le alone from the entry length', () => {
      const p = (t: string) => parsePrefix(t);
      assert.ok(entryMatches(entry('10.0.0.0/8'), p('10.0.0.0/8')));
      assert.ok(!entryMatches(entry('10.0.0.0/8'), p('10.1.0.0/16')));
      assert.ok(entryMatches(entry('10.0.0.0/8', 24), p('10.1.2.3/32')));
      assert.ok(!entryMatches(entry('10.0.0.0/8', 24), p('10.1.0.0/16')));
      assert.ok(entryMatches(entry('10.0.0.0/8', undefined, 16), p('10.1.0.0/16')));
      assert.ok(entryMatches(entry('10.0.0.0/8', undefined, 16), p('10.0.0.0/8')));
      assert.ok(!entryMatches(entry('10.0.0.0/8', undefined, 16), p('10.1.1.0/24')));
      assert.ok(!entryMatches(entry('10.0.0.0/8', 8, 32), p('11.0.0.0/8')));
      assert.ok(entryMatches(entry('0.0.0.0/0', 0, 32), p('203.0.113.0/24')));
      assert.ok(entryMatches(entry('2001:db8::/32', 48, 64), p('2001:db8:1::/48')));
      assert.ok(!entryMatches(entry('2001:db8::/32', 48, 64), p('2001:db9::/48')));
      assert.ok(!entryMatches(entry('10.0.0.0/8', 8, 32), p('::/0')), 'families never match');
    });

    it('property: covers agrees with a bit-by-bit reference', () => {
      const bits = (addr: string) =>
        addr
          .split('.')
          .map((o) => Number(o).toString(2).padStart(8, '0'))
          .join('');
      const arb = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }));
      const mk = ([v, len]: [number, number]) => {
        const masked = len === 0 ? 0 : Math.floor(v / 2 ** (32 - len)) * 2 ** (32 - len);
        return {
          family: 'ipv4' as const,
          addr: [24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.'),
          len,
        };
      };
      fc.assert(
        fc.property(arb, arb, fc.boolean(), (a, b, nest) => {
          const outer = mk(a);
          // Half the cases: inner derived from outer so covering pairs are common.
          const inner = nest
            ? mk([
                parseInt(bits(outer.addr).slice(0, outer.len).padEnd(32, '1'), 2),
                Math.max(outer.len, b[1]),
              ])
            : mk(b);
          const expected =
            inner.len >= outer.len &&
            bits(outer.addr).slice(0, outer.len) === bits(inner.addr).slice(0, outer.len);
          assert.equal(covers(outer, inner), expected);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('matching', () => {
    const policy: RoutePolicy = definePolicy({
      name: 'm',
      statements: [
        { match: { communities: [1, 2] }, result: 'reject', actions: [] },
        {
          match: { largeCommunities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }] },
          result: 'accept',
          actions: [{ type: 'set-med', med: 1 }],
        },
        {
          match: { prefixes: [entry('10.0.0.0/8', 8, 24)], communities: [3] },
          result: 'accept',
          actions: [],
        },
      ],
      defaultResult: 'reject',
    });
    const verdict = (spec: object, large = false) => {
      const p = makePath(src, spec);
      const attrs = large
        ? { ...p.attrs, largeCommunities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }] }
        : p.attrs;
      return evaluatePolicy(policy, p.prefix, attrs, CTX);
    };

    it('first matching statement wins; any listed community matches; all conditions must hold', () => {
      assert.deepEqual(verdict({ communities: [2, 3] }), { accepted: false, statement: 0 });
      assert.equal(verdict({ communities: [3] }, true).statement, 1);
      assert.equal(verdict({ communities: [3] }).statement, 2);
      assert.deepEqual(verdict({ communities: [4] }), { accepted: false, statement: -1 });
      assert.deepEqual(verdict({ prefix: '11.0.0.0/24', communities: [3] }), {
        accepted: false,
        statement: -1,
      });
    });
  });

  describe('actions', () => {
    it('set/add/remove communities and large communities, without duplicates', () => {
      assert.deepEqual(
        run([{ type: 'add-communities', communities: [2, 3] }], { communities: [1, 2] }).attrs.communities,
        [1, 2, 3],
      );
      assert.deepEqual(
        run([{ type: 'remove-communities', communities: [1] }], { communities: [1, 2] }).attrs.communities,
        [2],
      );
      assert.deepEqual(
        run([{ type: 'set-communities', communities: [9] }], { communities: [1, 2] }).attrs.communities,
        [9],
      );
      const lc = { globalAdmin: 1, localData1: 2, localData2: 3 };
      const added = run([{ type: 'add-large-communities', communities: [lc, lc] }]).attrs;
      assert.deepEqual(added.largeCommunities, [lc]);
      const path = makePath(src);
      const removed = evaluatePolicy(
        definePolicy({
          name: 'r',
          statements: [
            {
              match: {},
              result: 'accept',
              actions: [{ type: 'remove-large-communities', communities: [lc] }],
            },
          ],
          defaultResult: 'reject',
        }),
        path.prefix,
        added,
        CTX,
      );
      assert.ok(removed.accepted);
      assert.deepEqual(removed.attrs.largeCommunities, []);
    });

    it('set local-pref and MED; prepend n times (default AS from the context); next-hop self is a flag', () => {
      assert.equal(run([{ type: 'set-local-pref', localPref: 250 }]).attrs.localPref, 250);
      assert.equal(run([{ type: 'set-med', med: 0 }], { med: 5 }).attrs.med, 0);
      assert.deepEqual(run([{ type: 'prepend', count: 3 }], { asPath: [65001] }).attrs.asPath, [
        { type: 'sequence', asns: [65000, 65000, 65000, 65001] },
      ]);
      assert.deepEqual(run([{ type: 'prepend', count: 1, asn: 7 }]).attrs.asPath, [
        { type: 'sequence', asns: [7] },
      ]);
      const nh = run([{ type: 'next-hop-self' }], { communities: [1] });
      assert.equal(nh.nextHopSelf, true);
      assert.equal(
        nh.attrs,
        makePath(src, { communities: [1] }).attrs,
        'attributes untouched (same interned object)',
      );
    });

    it('results are interned: an action that changes nothing returns the input object', () => {
      const p = makePath(src, { communities: [1] });
      assert.equal(run([{ type: 'add-communities', communities: [1] }], { communities: [1] }).attrs, p.attrs);
    });
  });

  describe('validation', () => {
    const bad: [string, RoutePolicy, RegExp][] = [
      [
        'le below length',
        {
          name: 'x',
          statements: [
            { match: { prefixes: [entry('10.0.0.0/16', undefined, 8)] }, result: 'accept', actions: [] },
          ],
          defaultResult: 'accept',
        },
        /statements\[0\]\.match\.prefixes\[0\]\.le/,
      ],
      [
        'ge above 32',
        {
          name: 'x',
          statements: [{ match: { prefixes: [entry('10.0.0.0/16', 33)] }, result: 'accept', actions: [] }],
          defaultResult: 'accept',
        },
        /\.ge: must be between 16 and 32/,
      ],
      [
        'ge > le',
        {
          name: 'x',
          statements: [{ match: { prefixes: [entry('10.0.0.0/8', 24, 16)] }, result: 'accept', actions: [] }],
          defaultResult: 'accept',
        },
        /ge 24 is greater than le 16/,
      ],
      [
        'community',
        {
          name: 'x',
          statements: [{ match: { communities: [2 ** 32] }, result: 'accept', actions: [] }],
          defaultResult: 'accept',
        },
        /match\.communities\[0\]/,
      ],
      [
        'prepend 0',
        {
          name: 'x',
          statements: [{ match: {}, result: 'accept', actions: [{ type: 'prepend', count: 0 }] }],
          defaultResult: 'accept',
        },
        /actions\[0\]\.count/,
      ],
      [
        'local-pref',
        {
          name: 'x',
          statements: [{ match: {}, result: 'accept', actions: [{ type: 'set-local-pref', localPref: -1 }] }],
          defaultResult: 'accept',
        },
        /localPref/,
      ],
    ];
    for (const [what, policy, message] of bad) {
      it(`refuses ${what} with a PolicyError naming the field`, () => {
        assert.throws(
          () => definePolicy(policy),
          (e: unknown) => e instanceof PolicyError && message.test(e.message),
        );
      });
    }
  });

  describe('translation from the speaker configuration', () => {
    const config: Policy = {
      defaultAction: 'reject',
      statements: [
        {
          match: { prefixes: [{ prefix: '10.0.0.0/8', le: 32 }], communities: ['65000:1'] },
          action: 'accept',
          set: { addCommunities: ['65000:7'], addLargeCommunities: ['65000:1:2'], localPref: 200, med: 5 },
        },
        { match: {}, action: 'reject' },
      ],
    };

    it('builds the equivalent RoutePolicy', () => {
      assert.deepEqual(fromConfigPolicy('from-tor', config), {
        name: 'from-tor',
        defaultResult: 'reject',
        statements: [
          {
            match: {
              prefixes: [{ prefix: parsePrefix('10.0.0.0/8'), le: 32 }],
              communities: [65000 * 65536 + 1],
            },
            result: 'accept',
            actions: [
              { type: 'add-communities', communities: [65000 * 65536 + 7] },
              {
                type: 'add-large-communities',
                communities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }],
              },
              { type: 'set-local-pref', localPref: 200 },
              { type: 'set-med', med: 5 },
            ],
          },
          { match: {}, result: 'reject', actions: [] },
        ],
      });
      assert.deepEqual([...fromConfigPolicies({ a: config, b: config }).keys()], ['a', 'b']);
    });

    it('names the offending field for text it cannot parse', () => {
      const broken = (statement: Policy['statements'][number]): Policy => ({
        defaultAction: 'accept',
        statements: [statement],
      });
      assert.throws(
        () => fromConfigPolicy('p', broken({ match: { communities: ['65536:1'] }, action: 'accept' })),
        /p\.statements\[0\]\.match\.communities\[0\]/,
      );
      assert.throws(
        () =>
          fromConfigPolicy(
            'p',
            broken({ match: { prefixes: [{ prefix: '10.0.0.1/8' }] }, action: 'accept' }),
          ),
        (e: unknown) => e instanceof PolicyError && e.field === 'p.statements[0].match.prefixes[0].prefix',
      );
      assert.throws(
        () =>
          fromConfigPolicy(
            'p',
            broken({ match: {}, action: 'accept', set: { addLargeCommunities: ['1:2'] } }),
          ),
        /addLargeCommunities\[0\]/,
      );
    });
  });
});
