import { setReply, trimDot, type Msg } from '../../dns/message.js';
import type { Done, Handler, RequestContext, ResponseWriter } from '../../plugin.js';

/** whoami: answers with the client's address and port in the additional section (plugin/whoami). */
export class WhoamiHandler implements Handler {
  readonly name = 'whoami';
  next: Handler | null = null;
  serveDNS(_ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const m = setReply(r);
    m.aa = true;
    const q = r.question[0]!;
    const remote = w.info.remote;
    const v6 = remote.addr.includes(':');
    const qn = trimDot(q.name);
    m.extra = [
      { name: qn, type: v6 ? 'AAAA' : 'A', class: 'IN', ttl: 0, data: remote.addr },
      { name: qn === '.' ? `_${w.info.proto}` : `_${w.info.proto}.${qn}`, type: 'SRV', class: 'IN', ttl: 0, data: { priority: 0, weight: 0, port: remote.port, target: '.' } },
    ];
    w.writeMsg(m);
    done(0);
  }
}
