import type { TraceEventBase } from '../sim/trace.js';

/**
 * Netfilter trace events. Each carries the object that decided: the rule (table, chain,
 * 1-based number, iptables-save text), the chain policy, the NAT binding, the conntrack entry.
 * `trace` is the kernel's own `-j TRACE` line (nf_log_trace), for packets marked by TRACE.
 */
export interface NfRuleEvent extends TraceEventBase {
  readonly kind: 'nf.rule';
  readonly table: string;
  readonly chain: string;
  readonly ruleNum: number;
  /** The rule as iptables-save prints it, starting `-A CHAIN`. */
  readonly rule: string;
  readonly matched: boolean;
}

export interface NfChainEndEvent extends TraceEventBase {
  readonly kind: 'nf.policy' | 'nf.return';
  readonly table: string;
  readonly chain: string;
  /** Rule number the kernel reports for the implicit end of chain (rules + 1). */
  readonly ruleNum: number;
}

export interface NfTableDoneEvent extends TraceEventBase {
  readonly kind: 'nf.table';
  readonly table: string;
  readonly hook: string;
  /** Rules evaluated in this traversal. */
  readonly evaluated: number;
}

export interface NfNatEvent extends TraceEventBase {
  readonly kind: 'nf.nat';
  readonly manip: 'SNAT' | 'DNAT';
  /** How the binding came about: a rule target, a null binding, or applying the stored one. */
  readonly how: 'binding' | 'null-binding' | 'apply';
  readonly ctId: number;
  readonly from: string;
  readonly to: string;
}

export interface NfCtEvent extends TraceEventBase {
  readonly kind: 'nf.ct';
  readonly action: 'new' | 'lookup' | 'related' | 'invalid' | 'confirm' | 'clash-drop' | 'full-drop' | 'early-drop' | 'untracked';
  readonly ctId?: number;
  readonly ctinfo?: string;
  /** The entry as `conntrack -L` prints it, when there is one. */
  readonly entry?: string;
}

/** A `-j LOG` line (nf_log_syslog format: prefix, IN=, OUT=, MAC=, SRC=, ...). */
export interface NfLogEvent extends TraceEventBase {
  readonly kind: 'nf.log';
  readonly text: string;
}

/** A kernel TRACE line for a packet marked by `-j TRACE`, e.g. `TRACE: nat:KUBE-SVC-X:rule:2 IN=...`. */
export interface NfKernelTraceEvent extends TraceEventBase {
  readonly kind: 'nf.trace';
  readonly text: string;
}

export interface NfRejectEvent extends TraceEventBase {
  readonly kind: 'nf.reject';
  readonly with: string;
}

export type NfTraceEvent = NfRuleEvent | NfChainEndEvent | NfTableDoneEvent | NfNatEvent | NfCtEvent | NfLogEvent | NfKernelTraceEvent | NfRejectEvent;
