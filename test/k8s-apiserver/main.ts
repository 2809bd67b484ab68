// Runs the API server STAND-IN as its own process (inside a test's network namespace, where an
// agent under test can reach it on loopback). Seeds the objects given as a JSON array on argv[2],
// prints its URL on one line, and serves until SIGTERM. SIGUSR1 makes it go away (listener closed,
// every connection dropped), SIGUSR2 brings it back on the same port with its state.
import { ApiServerStandIn } from './server.js';
import type { WireObject } from './store.js';

const server = await ApiServerStandIn.start();
for (const obj of JSON.parse(process.argv[2] ?? '[]') as WireObject[]) server.inject(obj);
process.stdout.write(`${server.url}\n`);
process.on('SIGUSR1', () => void server.goAway());
process.on('SIGUSR2', () => void server.comeBack());
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
