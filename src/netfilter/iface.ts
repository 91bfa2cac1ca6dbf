import { param } from './module.js';

/** `-i`/`-o` names: up to 15 characters, a trailing `+` matches any name with that prefix. */
export function checkIfaceName(name: string): void {
  if (name.length > 15) param(`interface name \`${name}' must be shorter than IFNAMSIZ (15)`);
}

export function ifaceMatcher(pattern: string): (name: string) => boolean {
  if (pattern.endsWith('+')) {
    const prefix = pattern.slice(0, -1);
    return (n) => n.startsWith(prefix);
  }
  return (n) => n === pattern;
}
