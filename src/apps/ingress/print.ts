/**
 * Text for traces and `kubewire show`: the routing table the controller built and one line
 * per routing decision. These are kubewire's own formats (ingress-nginx has no text dump
 * of its routing; the real ones are nginx.conf and `kubectl ingress-nginx backends` JSON):
 *
 *     server <hostname>  [server_name <as rendered>]
 *       <location line>  -> <backend>  [<endpoint>, ...]  (<ingress>)
 *     backend <name>  <service>:<port>  <note>
 *
 * and for a decision:
 *
 *     <client> "<request line>" host=<host> server=<server>(<how>) <location>(<how>)
 *       -> <backend> <endpoint> from <local> (new|reused) [rewrite <from> -> <to>] = <status>
 */
import type { IngressConfiguration } from './model.js';
import type { IngressDecision } from './trace.js';

export function formatRoutingTable(cfg: IngressConfiguration): string {
  const lines: string[] = [];
  for (const s of cfg.servers) {
    lines.push(`server ${s.hostname}${s.serverName !== s.hostname ? `  [server_name ${s.serverName}]` : ''}`);
    for (const l of s.locations) {
      const b = cfg.backends.get(l.backend);
      const eps = b === undefined ? '?' : b.endpoints.length === 0 ? 'no endpoints: 503' : b.endpoints.map((e) => `${e.address}:${e.port}`).join(', ');
      const rw = l.annotations.rewriteTarget !== '' ? `  rewrite-target ${l.annotations.rewriteTarget}` : '';
      lines.push(`  ${l.rendered}  -> ${l.backend}  [${eps}]${rw}${l.ingress !== null ? `  (${l.ingress})` : ''}`);
    }
  }
  for (const b of cfg.backends.values()) lines.push(`backend ${b.name}  ${b.service ?? '-'}${b.port !== '' ? `:${b.port}` : ''}  ${b.note}`);
  for (const i of cfg.ignored) lines.push(`ignored ${i.ingress}: ${i.why}`);
  return `${lines.join('\n')}\n`;
}

export function formatDecision(d: IngressDecision): string {
  const head = `${d.client} "${d.requestLine}" host=${d.host ?? '-'} server=${d.server}(${d.serverMatch}) ${d.location ?? 'no location'}${d.locationMatch ? `(${d.locationMatch})` : ''}`;
  const last = d.attempts.at(-1);
  let tail: string;
  if (d.answeredBy === 'nginx' && (last === undefined || last.result === 'ok')) tail = `nginx answered: ${d.why}`;
  else {
    const tries = d.attempts.map((a) => (a.result === 'ok' ? `${a.endpoint} from ${a.local ?? '-'} (${a.reused ? 'reused' : 'new'})` : `${a.endpoint} ${a.result}`)).join(', then ');
    tail = `-> ${d.backend ?? '-'} ${tries}${d.rewrite ? ` rewrite ${d.rewrite.from} -> ${d.rewrite.to}` : ''}`;
  }
  return `${head}\n  ${tail} = ${d.status}`;
}
