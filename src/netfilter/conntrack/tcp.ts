/**
 * TCP connection tracking states (nf_conntrack_proto_tcp.c): the tcp_conntracks transition
 * table indexed [direction][flag class][old state], the kernel's default timeouts, and the
 * flag classification get_conntrack_index. Window tracking (tcp_in_window) is not modelled:
 * the model behaves as with nf_conntrack_tcp_be_liberal for in-window checks.
 */
export const sNO = 0, sSS = 1, sSR = 2, sES = 3, sFW = 4, sCW = 5, sLA = 6, sTW = 7, sCL = 8, sS2 = 9, sIV = 10, sIG = 11;

export const TCP_SYN_SET = 0, TCP_SYNACK_SET = 1, TCP_FIN_SET = 2, TCP_ACK_SET = 3, TCP_RST_SET = 4, TCP_NONE_SET = 5;

// Transcribed facts of the kernel table (same cells, own layout).
const ORIG: readonly (readonly number[])[] = [
  /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
  /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];
const REPLY: readonly (readonly number[])[] = [
  /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
  /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
  /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
  /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
  /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
  /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
];

export function tcpTransition(reply: boolean, index: number, old: number): number {
  return (reply ? REPLY : ORIG)[index]![old]!;
}

/**
 * tcp_error: what nf_conntrack_proto_tcp refuses before any state machine (the packet is
 * INVALID, no entry made or touched): a header shorter than 20 bytes or than its data offset,
 * and flag combinations outside tcp_valid_flags[] (after masking ECE, CWR and PSH): no flags,
 * FIN without ACK, SYN with FIN or RST, and so on. Answers the kernel's log text, or null.
 */
export function tcpError(flags: number, l4Len: number, dataOffsetBytes: number): string | null {
  if (l4Len < 20 || dataOffsetBytes < 20 || dataOffsetBytes > l4Len) return 'truncated packet';
  if (!VALID_FLAGS.has(flags & ~(0x40 | 0x80 | 0x08))) return 'invalid tcp flag combination';
  return null;
}

// tcp_valid_flags[]: SYN, SYN|URG, SYN|ACK, RST, RST|ACK, FIN|ACK, FIN|ACK|URG, ACK, ACK|URG.
const VALID_FLAGS: ReadonlySet<number> = new Set([0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30]);

export function tcpFlagIndex(flags: number): number {
  if (flags & 0x04) return TCP_RST_SET;
  if (flags & 0x02) return flags & 0x10 ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & 0x01) return TCP_FIN_SET;
  if (flags & 0x10) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

/** tcp_timeouts[] in seconds, by state (NONE unused). */
export const TCP_TIMEOUTS_S: Readonly<Record<string, number>> = {
  SYN_SENT: 120,
  SYN_RECV: 60,
  ESTABLISHED: 432000,
  FIN_WAIT: 120,
  CLOSE_WAIT: 60,
  LAST_ACK: 30,
  TIME_WAIT: 120,
  CLOSE: 10,
  SYN_SENT2: 120,
};
