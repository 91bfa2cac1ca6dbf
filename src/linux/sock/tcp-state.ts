/**
 * TCP states with the kernel's names (include/net/tcp_states.h), and sequence-number
 * arithmetic modulo 2^32 (before()/after() of include/net/tcp.h).
 */
export type TcpState =
  | 'CLOSE'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** What `ss` prints in its State column for each state (ss.c sstate_name). */
export const SS_STATE_NAME: Record<TcpState, string> = {
  CLOSE: 'UNCONN',
  LISTEN: 'LISTEN',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECV',
  ESTABLISHED: 'ESTAB',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  CLOSE_WAIT: 'CLOSE-WAIT',
  CLOSING: 'CLOSING',
  LAST_ACK: 'LAST-ACK',
  TIME_WAIT: 'TIME-WAIT',
};

/** a < b in sequence space. */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** a > b in sequence space. */
export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** b - a in sequence space (b after a). */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

/** Timer constants of include/net/tcp.h, in ms. */
export const TCP_TIMEOUT_INIT_MS = 1000;
export const TCP_RTO_MIN_MS = 200;
export const TCP_RTO_MAX_MS = 120_000;
export const TCP_TIMEWAIT_LEN_MS = 60_000;
export const TCP_ATO_MIN_MS = 40;
export const TCP_DELACK_MAX_MS = 200;
export const TCP_MAX_QUICKACKS = 16;
export const TCP_INIT_CWND = 10;
/** RFC 879 default when the peer sends no MSS option (TCP_MSS_DEFAULT). */
export const TCP_MSS_DEFAULT = 536;
/** The timestamps option as sent on established segments: NOP NOP TS (TCPOLEN_TSTAMP_ALIGNED). */
export const TCPOLEN_TSTAMP_ALIGNED = 12;
