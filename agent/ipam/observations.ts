// Where GC remembers what looked leaked last time. The agent keeps it in memory; the CNI GC
// verb runs as a fresh process each time, so it needs the file-backed store to ever see a
// second observation.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Suspect key -> time (ms) it was first seen leaked in the current unbroken run of observations. */
export type Observations = Map<string, number>;

export interface ObservationStore {
  load(): Promise<Observations>;
  save(observations: ReadonlyMap<string, number>): Promise<void>;
}

export class MemoryObservationStore implements ObservationStore {
  private current: Observations = new Map();

  async load(): Promise<Observations> {
    return new Map(this.current);
  }

  async save(observations: ReadonlyMap<string, number>): Promise<void> {
    this.current = new Map(observations);
  }
}

export class FileObservationStore implements ObservationStore {
  constructor(private readonly path: string) {}

  /**
   * A missing or unreadable file means "nothing observed yet": the only cost is that leaks are
   * freed one round later, never that something live is freed.
   */
  async load(): Promise<Observations> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new Map();
      return new Map(Object.entries(parsed).filter((e): e is [string, number] => Number.isFinite(e[1])));
    } catch {
      return new Map();
    }
  }

  /** Write-then-rename, so a crash mid-save leaves the previous file intact. */
  async save(observations: ReadonlyMap<string, number>): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(Object.fromEntries(observations)));
    await rename(tmp, this.path);
  }
}
