import { fqdn, rcodeName, type Msg } from '../../dns/message.js';
import { clientWrote, nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { matchZone } from '../../zones.js';
import type { Registry } from './registry.js';

/** Query types counted by name; anything else is `other` (plugin/metrics/vars/monitor.go). */
const MONITORED = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'MX', 'TXT', 'SRV', 'CNAME', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'HTTPS', 'SVCB', 'IXFR', 'AXFR', 'ANY']);

/**
 * prometheus (package plugin/metrics): counts each query and its reply
 * (`coredns_dns_requests_total`, `coredns_dns_responses_total` with the `plugin` that wrote
 * it) and serves every CoreDNS metric on `/metrics` in the text exposition format.
 */
export class MetricsHandler implements Handler {
  readonly name = 'prometheus';
  next: Handler | null = null;
  constructor(
    private readonly reg: Registry,
    private readonly zones: readonly string[],
  ) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0];
    const qn = fqdn((q?.name ?? '.').toLowerCase());
    const zone = matchZone(this.zones, qn) || '.';
    let rc = -1;
    const rec: ResponseWriter = {
      info: w.info,
      writeMsg: (m) => {
        if (rc < 0) rc = m.rcode;
        w.writeMsg(m);
      },
    };
    nextOrFailure(this.name, this.next, ctx, rec, r, (status, err) => {
      if (!clientWrote(status)) rc = status;
      const plugin = clientWrote(status) ? (ctx.writer ?? '') : '';
      report(this.reg, ctx.serverAddr, w.info, r, zone, rcodeName(Math.max(rc, 0)), plugin);
      done(status, err);
    });
  }
}

/** `vars.Report`: the request and response counters of one query. */
export function report(reg: Registry, server: string, info: { remote: { addr: string }; proto: string }, r: Msg, zone: string, rcode: string, plugin: string): void {
  const q = r.question[0];
  const family = info.remote.addr.includes(':') ? '2' : '1';
  const type = q && MONITORED.has(q.type) ? q.type : 'other';
  if (r.edns?.do) reg.add('coredns_dns_do_requests_total', [server, zone, '']);
  reg.add('coredns_dns_requests_total', [server, zone, '', info.proto, family, type]);
  reg.add('coredns_dns_responses_total', [server, zone, '', rcode, plugin]);
}
