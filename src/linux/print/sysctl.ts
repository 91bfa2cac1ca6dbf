/** `sysctl KEY...` output: `key = value` per line, as procps sysctl prints. */
import type { Netns } from '../netns.js';

export function sysctlShow(ns: Netns, keys: readonly string[]): string {
  return keys.map((k) => ns.sysctl_.line(k)).join('\n') + '\n';
}
