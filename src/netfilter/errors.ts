/**
 * xtables PARAMETER_PROBLEM: a rule option that does not parse. iptables-restore prints it
 * as `iptables-restore v1.8.9 (nf_tables): <message>` followed by `Error occurred at line: N`.
 */
export class ParamError extends Error {
  override readonly name = 'ParamError';
}

/**
 * A failure the real tool reports as `iptables-restore: line N failed: <reason>` (the kernel
 * or the commit refused the operation: missing chain, busy chain, bad policy).
 */
export class CommitError extends Error {
  override readonly name = 'CommitError';
  /** nft's own diagnostic line when the tool prints one (RULE_APPEND / CHAIN_DEL failed). */
  constructor(
    message: string,
    readonly nftDetail?: string,
  ) {
    super(message);
  }
}

export const IPTABLES_VERSION = 'v1.8.9 (nf_tables)';

/**
 * iptables-restore failed at `line`; `stderr` is what the real iptables-restore 1.8.9
 * (nf_tables) prints for the same input. The ruleset is unchanged.
 */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly stderr: string,
  ) {
    super(stderr.split('\n').filter((l) => l !== '')[0] ?? reason);
  }

  static param(line: number, reason: string): RestoreError {
    return new RestoreError(
      line,
      reason,
      `iptables-restore ${IPTABLES_VERSION}: ${reason}\nError occurred at line: ${line}\n` +
        "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n",
    );
  }

  static commit(line: number, e: CommitError): RestoreError {
    if (e.nftDetail !== undefined)
      return new RestoreError(line, e.message, `iptables-restore ${IPTABLES_VERSION}: \nline ${line}: ${e.nftDetail}\n`);
    return new RestoreError(line, e.message, `iptables-restore: line ${line} failed${e.message ? `: ${e.message}` : ''}\n`);
  }

  static commitExpected(line: number): RestoreError {
    return new RestoreError(line, 'COMMIT expected', `iptables-restore: COMMIT expected at line ${line}\n`);
  }
}
