import { isSubDomain, normalizeZones } from './zones.js';

/** `plugin/pkg/fall`: the zones a plugin falls through for (empty = never, `.` = all). */
export class Fall {
  constructor(readonly zones: readonly string[] = []) {}
  static fromArgs(args: readonly string[]): Fall {
    return new Fall(args.length === 0 ? ['.'] : normalizeZones(args));
  }
  through(qname: string): boolean {
    return this.zones.some((z) => isSubDomain(z, qname));
  }
}
