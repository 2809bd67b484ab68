// Runs the API server STAND-IN as its own process (inside a test's network namespace, where an
// agent under test can reach it on loopback). Seeds the objects given as a JSON array on argv[2],
// prints its URL on one line, and serves until SIGTERM.
import { ApiServerStandIn } from './server.js';
import type { WireObject } from './store.js';

const server = await ApiServerStandIn.start();
for (const obj of JSON.parse(process.argv[2] ?? '[]') as WireObject[]) server.inject(obj);
process.stdout.write(`${server.url}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
