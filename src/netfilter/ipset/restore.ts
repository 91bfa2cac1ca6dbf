import type { IpsetRegistry } from './registry.js';
import { IpsetError } from './set.js';
import { IPSET_VERSION } from './registry.js';
import { splitArgs } from '../argv.js';

/** `ipset restore` failed; `stderr` is the tool's message. Nothing was changed. */
export class IpsetRestoreError extends Error {
  override readonly name = 'IpsetRestoreError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`ipset ${IPSET_VERSION}: Error in line ${line}: ${reason}`);
  }
  get stderr(): string {
    return `${this.message}\n`;
  }
}

/**
 * `ipset restore` (with `-exist` when `exist`): create/add/del/flush/destroy/swap lines, as
 * kube-proxy's ipvs mode writes them. Applied to a snapshot: all or nothing (the real tool
 * keeps the lines before the failing one).
 */
export function ipsetRestore(reg: IpsetRegistry, text: string, exist = false): number {
  const snap = reg.snapshot();
  const lines = text.split('\n');
  let n = 0;
  try {
    for (n = 0; n < lines.length; n++) {
      const line = lines[n]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line === 'COMMIT') continue;
      const a = splitArgs(line);
      const [cmd, name, arg, ...rest] = a;
      switch (cmd) {
        case 'create':
        case '-N':
          if (exist && name !== undefined && reg.get(name)) break;
          reg.create(name ?? '', arg ?? '', rest);
          break;
        case 'add':
        case '-A':
          reg.add(name ?? '', arg ?? '', rest, exist);
          break;
        case 'del':
        case '-D':
          reg.del(name ?? '', arg ?? '', exist);
          break;
        case 'flush':
        case '-F':
          reg.flush(name);
          break;
        case 'destroy':
        case '-X':
          reg.destroy(name);
          break;
        case 'swap':
        case '-W':
          reg.swap(name ?? '', arg ?? '');
          break;
        default:
          throw new IpsetError(`Syntax error: Unknown command '${cmd}'`);
      }
    }
  } catch (e) {
    reg.rollback(snap);
    if (e instanceof IpsetError) throw new IpsetRestoreError(n + 1, e.message);
    throw e;
  }
  return n;
}
