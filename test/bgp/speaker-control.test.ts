// The control API: message codec (round trip, fuzz: only ControlProtocolError) and the unix
// socket server/client pair.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  ControlClientError,
  ControlProtocolError,
  type ControlRequest,
  ControlServer,
  controlRequest,
  decodeControlRequest,
  decodeControlResponse,
  encodeControlMessage,
  type PeerStatus,
  type RouteStatus,
} from '../../bgp/speaker/index.js';

// fc.record builds null-prototype objects; spread them into plain ones like decode returns.
const request: fc.Arbitrary<ControlRequest> = fc
  .oneof(
    fc.record({ id: fc.nat(), method: fc.constant('peers' as const) }),
    fc.record({ id: fc.nat(), method: fc.constant('routes' as const) }),
    fc.record({ id: fc.nat(), method: fc.constant('kernel' as const) }),
    fc.record({ id: fc.nat(), method: fc.constant('routes' as const), prefix: fc.string() }),
  )
  .map((r) => ({ ...r }));

describe('bgp/speaker control protocol', () => {
  it('round-trips requests and responses, one line each', () => {
    fc.assert(
      fc.property(request, (req) => {
        const line = encodeControlMessage(req);
        assert.equal(line.indexOf('\n'), line.length - 1);
        assert.deepEqual(decodeControlRequest(line), req);
      }),
    );
    fc.assert(
      fc.property(fc.nat(), fc.jsonValue(), fc.string(), (id, result, error) => {
        // JSON itself maps -0 to 0: compare with what JSON can carry.
        const carried: unknown = JSON.parse(JSON.stringify(result));
        assert.deepEqual(decodeControlResponse(encodeControlMessage({ id, result })), {
          id,
          result: carried,
        });
        assert.deepEqual(decodeControlResponse(encodeControlMessage({ id, error })), { id, error });
      }),
    );
  });

  it('rejects anything else with ControlProtocolError only', () => {
    const junk = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    );
    fc.assert(
      fc.property(junk, (line) => {
        for (const decode of [decodeControlRequest, decodeControlResponse]) {
          try {
            decode(line);
          } catch (err) {
            assert.ok(err instanceof ControlProtocolError, String(err));
          }
        }
      }),
    );
    assert.throws(() => decodeControlRequest('{"id":1,"method":"reset"}'), /unknown method "reset"/);
    assert.throws(() => decodeControlRequest('{"id":-1,"method":"peers"}'), /"id"/);
    assert.throws(() => decodeControlResponse('{"id":1}'), /"result" or "error"/);
  });
});

describe('bgp/speaker control socket', () => {
  let dir: string;
  let server: ControlServer | undefined;
  const peer: PeerStatus = {
    name: 'tor',
    address: '192.0.2.2',
    as: 65002,
    state: 'Established',
    uptimeSeconds: 12,
    prefixesReceived: 3,
    prefixesAccepted: 2,
    prefixesAdvertised: 1,
  };
  const route: RouteStatus = {
    prefix: '10.0.0.0/24',
    paths: [
      {
        best: true,
        multipath: true,
        from: 'tor',
        nextHop: '192.0.2.2',
        asPath: [65002],
        origin: 'igp',
        communities: ['65000:1'],
        largeCommunities: [],
        stale: false,
      },
    ],
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-bgp-ctl-'));
  });

  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers peers, routes and kernel, passing the prefix through; the socket is 0600', async () => {
    const path = join(dir, 'bgp.sock');
    const asked: (string | undefined)[] = [];
    server = await ControlServer.listen(path, {
      peers: () => [peer],
      routes: (prefix) => {
        asked.push(prefix);
        return [route];
      },
      kernel: () => ({ enabled: false }),
    });
    assert.deepEqual(await controlRequest(path, { method: 'kernel' }), { enabled: false });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await controlRequest(path, { method: 'peers' }), [peer]);
    assert.deepEqual(await controlRequest(path, { method: 'routes', prefix: '10.0.0.0/24' }), [route]);
    assert.deepEqual(await controlRequest(path, { method: 'routes' }), [route]);
    assert.deepEqual(asked, ['10.0.0.0/24', undefined]);
  });

  it('reports a handler error to the client as ControlClientError', async () => {
    const path = join(dir, 'bgp.sock');
    server = await ControlServer.listen(path, {
      peers: () => [],
      routes: () => {
        throw new Error('bad prefix "x"');
      },
      kernel: () => ({ enabled: false }),
    });
    await assert.rejects(controlRequest(path, { method: 'routes', prefix: 'x' }), (err: unknown) => {
      assert.ok(err instanceof ControlClientError);
      assert.match(err.message, /bad prefix "x"/);
      return true;
    });
  });

  it('replaces a stale socket file but refuses a live one; a missing socket is a clear error', async () => {
    const path = join(dir, 'bgp.sock');
    const idle = { peers: () => [], routes: () => [], kernel: () => ({ enabled: false as const }) };
    const first = await ControlServer.listen(path, idle);
    await assert.rejects(ControlServer.listen(path, idle), /another speaker/);
    await first.close();
    await assert.rejects(controlRequest(path, { method: 'peers' }), /is the speaker running/);
    server = await ControlServer.listen(path, { ...idle, peers: () => [peer] });
    assert.deepEqual(await controlRequest(path, { method: 'peers' }), [peer]);
  });
});
