// The one error the applier throws: which step failed, the tool's own words (with the input
// line it rejected), and whether the previous ruleset is still fully in force.

/**
 * `ipset-stage`, `iptables`/`ip6tables` and `ipset-commit` are an apply's waves in order;
 * `follow-up` removes what the new ruleset no longer uses (see PolicyApplier).
 */
export type ApplyStep =
  | 'read'
  | 'plan'
  | 'ipset-stage'
  | 'iptables'
  | 'ip6tables'
  | 'ipset-commit'
  | 'follow-up';

export class PolicyApplyError extends Error {
  override readonly name = 'PolicyApplyError';
  constructor(
    readonly step: ApplyStep,
    /** The tool that failed, e.g. `iptables-restore`. */
    readonly command: string,
    readonly detail: string,
    /**
     * True when the kernel holds exactly what it held before the call; false when part of the
     * change is in force. Either way the applier re-reads the kernel before its next change.
     */
    readonly previousInForce: boolean,
  ) {
    super(
      `${step}: ${command}: ${detail}${previousInForce ? ' (previous ruleset left in force)' : ' (partially applied)'}`,
    );
  }
}

/**
 * The first line of a tool's complaint plus the input line it names: ipset says
 * `Error in line 3: ...`, iptables-restore `Error occurred at line: 4`.
 */
export function describeToolFailure(stderr: string, exitCode: number, input: string | undefined): string {
  const first = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit code ${exitCode}`;
  const lineNumber = failedLineOf(stderr);
  if (input === undefined || lineNumber === undefined) return first.trim();
  const offending = input.split('\n')[lineNumber - 1];
  return offending === undefined ? first.trim() : `${first.trim()} [input line ${lineNumber}: ${offending}]`;
}

/** The 1-based input line a restore tool stopped at, if its complaint names one. */
export function failedLineOf(stderr: string): number | undefined {
  const lineNumber = /line:? (\d+)/i.exec(stderr)?.[1];
  return lineNumber === undefined ? undefined : Number(lineNumber);
}
