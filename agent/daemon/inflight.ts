// ADDs whose result the runtime has not been given yet, in a small node-local file (on tmpfs,
// /run/trellis, like the CNI socket). An entry is written before an ADD touches IPAM and removed
// just before its result is returned, so after the agent is killed every entry left names an
// ADD the runtime saw fail: its veth, routes and addresses are safe to roll back. (Removing the
// entry before the reply means a kill in that last instant leaks instead; a leak is collected by
// DEL or GC, while rolling back a delivered ADD would cut a live pod off.)
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface InflightAdd {
  handle: string;
  containerId: string;
  ifname: string;
}

export class InflightAdds {
  readonly #path: string;
  readonly #entries = new Map<string, InflightAdd>();
  /** Entries a previous agent left: ADDs it was killed in the middle of. */
  readonly leftover: InflightAdd[];

  constructor(path: string) {
    this.#path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.leftover = readEntries(path);
    this.#save();
  }

  /** Handles of ADDs in progress now (the leak sweep must not take them for leaks). */
  handles(): string[] {
    return [...this.#entries.keys()];
  }

  begin(entry: InflightAdd): void {
    this.#entries.set(entry.handle, entry);
    this.#save();
  }

  end(handle: string): void {
    if (this.#entries.delete(handle)) this.#save();
  }

  // Synchronous on purpose: a few hundred bytes on tmpfs, and the file must be on disk before
  // the ADD goes on.
  #save(): void {
    const tmp = `${this.#path}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#entries.values()]));
    renameSync(tmp, this.#path);
  }
}

function readEntries(path: string): InflightAdd[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of in-flight ADDs`);
  return parsed.filter(
    (e): e is InflightAdd =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as InflightAdd).handle === 'string' &&
      typeof (e as InflightAdd).containerId === 'string' &&
      typeof (e as InflightAdd).ifname === 'string',
  );
}
