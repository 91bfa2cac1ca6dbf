import type { TraceEventBase } from '../sim/trace.js';
import type { IpvsConn } from './conn.js';
import type { IpvsDest } from './dest.js';
import type { IpvsService } from './service.js';

/** IPVS trace events: each carries the object that decided. */
export type IpvsTraceEvent =
  | (TraceEventBase & { readonly kind: 'ipvs.service'; readonly service: IpvsService; readonly text: string })
  | (TraceEventBase & {
      readonly kind: 'ipvs.schedule';
      readonly service: IpvsService;
      readonly dest: IpvsDest | null;
      /** The scheduler's reason: rr position, wrr current weight, sh bucket, ... */
      readonly why: string;
      /** True when a persistence template decided instead of the scheduler. */
      readonly template?: boolean;
    })
  | (TraceEventBase & {
      readonly kind: 'ipvs.conn';
      readonly conn: IpvsConn;
      readonly action: 'created' | 'reused' | 'rescheduled' | 'expired' | 'template-created' | 'template-reused' | 'template-invalidated';
      readonly text: string;
    })
  | (TraceEventBase & {
      readonly kind: 'ipvs.nat';
      readonly conn: IpvsConn;
      /** dnat: client->VIP rewritten to the real server; snat: reply rewritten back to the VIP. */
      readonly direction: 'dnat' | 'snat';
      readonly text: string;
    })
  | (TraceEventBase & { readonly kind: 'ipvs.drop'; readonly reason: string; readonly service?: IpvsService });

/** Where an event happened, as the hook state names it. */
export interface IpvsWhere {
  readonly node: string;
  readonly netns: string;
  readonly dev?: string;
}
