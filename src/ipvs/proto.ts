import { NS_PER_S } from './constants.js';

/**
 * Per-protocol connection states and timeouts, as ip_vs_proto_tcp.c / ip_vs_proto_udp.c.
 */

export const IP_VS_TCP_S_NONE = 0;
export const IP_VS_TCP_S_ESTABLISHED = 1;
export const IP_VS_TCP_S_SYN_SENT = 2;
export const IP_VS_TCP_S_SYN_RECV = 3;
export const IP_VS_TCP_S_FIN_WAIT = 4;
export const IP_VS_TCP_S_TIME_WAIT = 5;
export const IP_VS_TCP_S_CLOSE = 6;
export const IP_VS_TCP_S_CLOSE_WAIT = 7;
export const IP_VS_TCP_S_LAST_ACK = 8;
export const IP_VS_TCP_S_LISTEN = 9;
export const IP_VS_TCP_S_SYNACK = 10;
export const IP_VS_TCP_S_LAST = 11;

export const TCP_STATE_NAMES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN',
  'SYNACK',
] as const;

/** tcp_timeouts[] in seconds (the last entry is IP_VS_TCP_S_LAST). */
export const TCP_TIMEOUTS_S = [2, 15 * 60, 2 * 60, 60, 2 * 60, 2 * 60, 10, 60, 30, 2 * 60, 120, 2] as const;

/** tcp_state_active_table: states counted in activeconns (kernel >= 4.9). */
export const TCP_STATE_ACTIVE = [false, true, true, true, false, false, false, false, false, false, true] as const;

const sNO = 0, sES = 1, sSS = 2, sSR = 3, sFW = 4, sTW = 5, sCL = 6, sCW = 7, sLA = 8, sLI = 9, sSA = 10;

/** tcp_states[]: [direction offset + flag index][current state] -> next state. */
export const TCP_STATES: readonly (readonly number[])[] = [
  /* INPUT */
  /* syn */ [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
  /* fin */ [sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW],
  /* ack */ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
  /* rst */ [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR],
  /* OUTPUT */
  /* syn */ [sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR],
  /* fin */ [sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW],
  /* ack */ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES],
  /* rst */ [sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL],
  /* INPUT-ONLY */
  /* syn */ [sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR],
  /* fin */ [sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW],
  /* ack */ [sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES],
  /* rst */ [sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL],
];

/** tcp_state_off[]: IP_VS_DIR_INPUT, OUTPUT, INPUT_ONLY. */
export const TCP_DIR_INPUT = 0;
export const TCP_DIR_OUTPUT = 4;
export const TCP_DIR_INPUT_ONLY = 8;

/** tcp_state_idx: RST beats SYN beats FIN beats ACK; -1 when none is set. */
export function tcpStateIdx(flags: number): number {
  if (flags & 0x04) return 3;
  if (flags & 0x02) return 0;
  if (flags & 0x01) return 1;
  if (flags & 0x10) return 2;
  return -1;
}

export const IP_VS_UDP_S_NORMAL = 0;
/** udp_timeouts[IP_VS_UDP_S_NORMAL]. */
export const UDP_TIMEOUT_S = 5 * 60;

/** Timeouts per protocol state in nanoseconds, changeable with `ipvsadm --set tcp tcpfin udp`. */
export class TimeoutTable {
  tcp: number[] = TCP_TIMEOUTS_S.map((s) => s * NS_PER_S);
  udp: number = UDP_TIMEOUT_S * NS_PER_S;

  clone(): TimeoutTable {
    const t = new TimeoutTable();
    t.tcp = this.tcp.slice();
    t.udp = this.udp;
    return t;
  }
}
