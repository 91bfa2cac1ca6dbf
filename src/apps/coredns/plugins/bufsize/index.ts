import type { Msg } from '../../dns/message.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';

/**
 * bufsize: lowers the EDNS UDP size a query advertises to SIZE before the rest of the chain
 * sees it (never raises it; queries without OPT are left alone), as plugin/bufsize.
 */
export class BufsizeHandler implements Handler {
  readonly name = 'bufsize';
  next: Handler | null = null;
  constructor(readonly size: number) {}
  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    if (r.edns && r.edns.udpSize > this.size) r.edns = { ...r.edns, udpSize: this.size };
    nextOrFailure(this.name, this.next, ctx, w, r, done);
  }
}
