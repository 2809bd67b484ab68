import assert from 'node:assert/strict';
import { IpamContentionError } from '../../agent/ipam/errors.js';
import { KeyedMutex } from '../../agent/ipam/mutex.js';
import { retryOnConflict } from '../../agent/ipam/retry.js';
import { DatastoreError } from '../../src/datastore/types.js';

const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2, random: () => 0.5 };
const conflict = () => new DatastoreError('Conflict', 'stale resourceVersion');

describe('ipam/retry', () => {
  it('re-runs the step after conflicts until it succeeds', async () => {
    let calls = 0;
    const got = await retryOnConflict(
      'x',
      async () => {
        if (++calls < 3) throw conflict();
        return 'ok';
      },
      policy,
    );
    assert.deepEqual([got, calls], ['ok', 3]);
  });

  it('gives up with IpamContentionError after the attempt budget', async () => {
    let calls = 0;
    await assert.rejects(
      retryOnConflict(
        'updating block b',
        async () => {
          calls++;
          throw conflict();
        },
        policy,
      ),
      (e: unknown) =>
        e instanceof IpamContentionError && e.attempts === 4 && /updating block b/.test(e.message),
    );
    assert.equal(calls, 4);
  });

  it('propagates any other error at once', async () => {
    let calls = 0;
    const notFound = new DatastoreError('NotFound', 'gone');
    await assert.rejects(
      retryOnConflict(
        'x',
        async () => {
          calls++;
          throw notFound;
        },
        policy,
      ),
      (e: unknown) => e === notFound,
    );
    assert.equal(calls, 1);
  });
});

describe('ipam/mutex', () => {
  it('runs tasks of one key one at a time, in order, and other keys independently', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const task = (key: string, id: string) =>
      m.run(key, async () => {
        log.push(id);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`${id}/`);
        return id;
      });
    const results = await Promise.all([task('a', 'a1'), task('a', 'a2'), task('b', 'b1'), task('a', 'a3')]);
    assert.deepEqual(results, ['a1', 'a2', 'b1', 'a3']);
    assert.deepEqual(
      log.filter((l) => l.startsWith('a')),
      ['a1', 'a1/', 'a2', 'a2/', 'a3', 'a3/'],
    );
    assert.ok(log.indexOf('b1') < log.indexOf('a1/'), 'key b did not wait for key a');
  });

  it('releases the key when a task throws', async () => {
    const m = new KeyedMutex();
    await assert.rejects(
      m.run('k', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await m.run('k', async () => 7), 7);
  });
});
