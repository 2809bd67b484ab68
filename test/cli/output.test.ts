import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { formatAge, parseOutputFormat, renderObjects, renderTable } from '../../src/cli/output.js';
import type { Resource } from '../../src/datastore/types.js';
import { findKind } from '../../src/resources/index.js';

const now = new Date('2026-01-02T00:00:00Z');

describe('cli/output', () => {
  it('formats ages with the two most significant units', () => {
    assert.equal(formatAge(new Date('2026-01-01T23:59:58Z'), now), '2s');
    assert.equal(formatAge(new Date('2026-01-01T23:54:50Z'), now), '5m10s');
    assert.equal(formatAge(new Date('2025-12-29T20:00:00Z'), now), '3d4h');
    assert.equal(formatAge(new Date('2026-01-03T00:00:00Z'), now), '0s');
  });

  it('renders a table from printer columns, with a namespace column for namespaced kinds', () => {
    const pods: Resource[] = [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web', namespace: 'prod', creationTimestamp: '2026-01-01T23:00:00Z' },
        spec: { nodeName: 'node-1' },
        status: { podIP: '10.244.0.7' },
      },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db-long-name', namespace: 'x' } },
    ];
    assert.equal(
      renderTable(findKind('po')!, pods, now),
      [
        'NAMESPACE   NAME           IP           NODE     AGE',
        'prod        web            10.244.0.7   node-1   1h',
        'x           db-long-name   <none>       <none>   <none>',
        '',
      ].join('\n'),
    );
    assert.equal(renderTable(findKind('ippool')!, [], now), 'No ippools found.\n');
  });

  it('renders one object as itself and several as a YAML stream or a JSON List', () => {
    const objs: Resource[] = ['a', 'b'].map((name) => ({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
    }));
    assert.equal(parseAllDocuments(renderObjects('yaml', objs, false)).length, 2);
    assert.deepEqual(JSON.parse(renderObjects('json', objs, false)), {
      apiVersion: 'v1',
      kind: 'List',
      items: objs,
    });
    assert.deepEqual(JSON.parse(renderObjects('json', objs.slice(0, 1), true)), objs[0]);
  });

  it('rejects unknown output formats as a usage error', () => {
    assert.throws(
      () => parseOutputFormat('xml'),
      (e: unknown) => (e as { exitCode: number }).exitCode === 2,
    );
  });
});
