// Which processes still run out of a lab's state directory: its agents and FRR daemons all
// name it on their command lines, so none may be left once the lab is down.
import { readdirSync, readFileSync } from 'node:fs';

/** `pid command line` of every process whose command line contains `dir`. */
export function processesUsing(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmdline.includes(dir) ? [`${pid} ${cmdline}`] : [];
      } catch {
        // Exited while we looked.
        return [];
      }
    });
}
