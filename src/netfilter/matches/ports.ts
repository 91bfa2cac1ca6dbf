import { param, parseUint } from '../module.js';

/** A port range as xt_tcpudp keeps it: [min, max] inclusive. */
export type PortRange = readonly [number, number];

/** xtables_parse_port: a number 0-65535 (service names are not in the model). */
export function parsePort(text: string): number {
  const v = /^[0-9]+$/.test(text) ? Number(text) : undefined;
  if (v === undefined || v > 65535) param(`invalid port/service \`${text}' specified`);
  return v;
}

/** `a`, `a:b`, `:b` (0:b), `a:` (a:65535), as parse_tcp_ports. */
export function parsePortRange(text: string): PortRange {
  const c = text.indexOf(':');
  if (c < 0) {
    const p = parsePort(text);
    return [p, p];
  }
  const lo = c === 0 ? 0 : parsePort(text.slice(0, c));
  const hi = c === text.length - 1 ? 65535 : parsePort(text.slice(c + 1));
  if (lo > hi) param(`invalid portrange (min > max)`);
  return [lo, hi];
}

export function savePortRange(r: PortRange): string {
  return r[0] === r[1] ? `${r[0]}` : `${r[0]}:${r[1]}`;
}

export function inRange(r: PortRange, p: number): boolean {
  return p >= r[0] && p <= r[1];
}

export { parseUint };
