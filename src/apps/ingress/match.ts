/**
 * nginx's request routing over the rendered configuration:
 * - server (ngx_http_find_virtual_server): `$host` is the Host header lower-cased, without
 *   the port and a trailing dot; exact server names first, then the regex names (ingress
 *   wildcards) in configuration order, else the `default_server` (`_`);
 * - `$uri` (ngx_http_parse_complex_uri): the request path percent-decoded, `//` merged,
 *   `.` and `..` segments resolved; the query string is kept apart as `$args`;
 * - location (ngx_http_core_find_location): an exact `=` match ends the search; otherwise
 *   the longest matching prefix is remembered, then regex locations are tried in order and
 *   the first match wins; with none, the longest prefix is used;
 * - rewrite (buildProxyPass): `rewrite "(?i)<location path>" <rewrite-target> break;` on
 *   `$uri`, `$1`..`$9` and named captures substituted; the original `$args` follow unless
 *   the target has its own `?`.
 */
import { HttpError } from '../http/errors.js';
import { DEFAULT_SERVER, type IngressConfiguration, type Location, type Server } from './model.js';

export interface ServerMatch {
  readonly server: Server;
  readonly how: 'exact' | 'regex' | 'default';
}

/** `$host` from a Host header value, or null when invalid (nginx answers 400). */
export function hostFromHeader(v: string): string | null {
  let h = v.toLowerCase();
  if (h.startsWith('[')) return null; // IPv6 literals: not modelled
  const colon = h.indexOf(':');
  if (colon >= 0) {
    if (!/^[0-9]*$/.test(h.slice(colon + 1))) return null;
    h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h === '' || h.includes('..') || h.includes('/') || h.includes('\\') || h.startsWith('.')) return null;
  return h;
}

export function matchServer(cfg: IngressConfiguration, host: string | null): ServerMatch {
  const def = cfg.servers.find((s) => s.hostname === DEFAULT_SERVER)!;
  if (host === null) return { server: def, how: 'default' };
  const exact = cfg.servers.find((s) => s.nameRegex === null && s.hostname !== DEFAULT_SERVER && s.hostname.toLowerCase() === host);
  if (exact) return { server: exact, how: 'exact' };
  const re = cfg.servers.find((s) => s.nameRegex?.test(host));
  if (re) return { server: re, how: 'regex' };
  return { server: def, how: 'default' };
}

export interface ParsedTarget {
  /** Normalized, decoded path (`$uri`). */
  readonly uri: string;
  readonly args: string | null;
}

/** ngx_http_parse_complex_uri, simplified: decode %XX, merge slashes, resolve dot segments. */
export function parseTarget(target: string): ParsedTarget {
  let t = target;
  if (/^https?:\/\//i.test(t)) {
    const i = t.indexOf('/', t.indexOf('//') + 2);
    t = i < 0 ? '/' : t.slice(i);
  }
  if (!t.startsWith('/')) throw new HttpError(400, 'client sent invalid request');
  const q = t.indexOf('?');
  const rawPath = q < 0 ? t : t.slice(0, q);
  const args = q < 0 ? null : t.slice(q + 1);
  let decoded = '';
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath[i]!;
    if (c === '%') {
      const hex = rawPath.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new HttpError(400, 'client sent invalid request');
      const v = parseInt(hex, 16);
      if (v === 0) throw new HttpError(400, 'client sent invalid request');
      decoded += String.fromCharCode(v);
      i += 2;
    } else decoded += c;
  }
  const out: string[] = [];
  const segs = decoded.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s === '' && !last) continue; // merge_slashes
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      if (out.length === 0) throw new HttpError(400, 'client sent invalid request');
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return { uri: `/${out.join('/')}`, args };
}

export interface LocationMatch {
  readonly location: Location;
  readonly how: 'exact' | 'longest-prefix' | 'regex';
  /** The other locations that matched too (for the trace's "why"). */
  readonly alsoMatched: readonly string[];
}

export function matchLocation(server: Server, uri: string): LocationMatch | null {
  const exact = server.locations.find((l) => l.kind === 'exact' && l.path === uri);
  if (exact) {
    const others = server.locations.filter((l) => l !== exact && l.kind === 'prefix' && uri.startsWith(l.path)).map((l) => l.rendered);
    return { location: exact, how: 'exact', alsoMatched: others };
  }
  const prefixes = server.locations.filter((l) => l.kind === 'prefix' && uri.startsWith(l.path));
  let best: Location | null = null;
  for (const l of prefixes) if (best === null || l.path.length > best.path.length) best = l;
  const regexes = server.locations.filter((l) => l.kind === 'regex' && l.regex !== null && l.regex.test(uri));
  const re = regexes[0];
  if (re) return { location: re, how: 'regex', alsoMatched: [...prefixes, ...regexes.slice(1)].map((l) => l.rendered) };
  if (best) return { location: best, how: 'longest-prefix', alsoMatched: prefixes.filter((l) => l !== best).map((l) => l.rendered) };
  return null;
}

/** ngx_escape_uri(NGX_ESCAPE_URI): what nginx escapes in a rewritten URI it proxies. */
export function escapeUri(uri: string): string {
  let s = '';
  for (const ch of uri) {
    const c = ch.charCodeAt(0);
    if (c <= 0x20 || c >= 0x7f || ch === '#' || ch === '%' || ch === '?') s += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else s += ch;
  }
  return s;
}

export interface Rewrite {
  readonly from: string;
  readonly to: string;
  readonly rule: string;
}

/** Applies the location's rewrite-target; null when the rule does not apply. */
export function applyRewrite(loc: Location, uri: string, args: string | null): { uri: string; args: string | null; rule: string } | null {
  const target = loc.annotations.rewriteTarget;
  if (target === '' || target === loc.path) return null;
  const rule = `rewrite "(?i)${loc.path}" ${target} break;`;
  let re: RegExp;
  try {
    re = new RegExp(loc.path, 'i');
  } catch {
    return null;
  }
  const m = re.exec(uri);
  if (!m) return null;
  const subst = (tpl: string): string =>
    tpl.replace(/\$(?:([1-9])|\{([1-9])\}|([A-Za-z_][A-Za-z0-9_]*))/g, (all, d1: string | undefined, d2: string | undefined, name: string | undefined) => {
      const d = d1 ?? d2;
      if (d !== undefined) return m[Number(d)] ?? '';
      if (name !== undefined && m.groups && name in m.groups) return m.groups[name] ?? '';
      return all;
    });
  // only a `?` written in the replacement starts arguments; a captured one is part of $uri
  const q = target.indexOf('?');
  if (q < 0) return { uri: subst(target), args, rule };
  const uriPart = subst(target.slice(0, q));
  // a trailing `?` drops the old arguments; otherwise they follow the new ones
  if (q === target.length - 1) return { uri: uriPart, args: null, rule };
  const own = subst(target.slice(q + 1));
  return { uri: uriPart, args: args === null || args === '' ? own : `${own}&${args}`, rule };
}
