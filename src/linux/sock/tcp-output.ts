/**
 * How Linux sizes what it advertises and builds the bytes of a segment (net/ipv4/tcp_output.c).
 *
 * Receive window and window scale (tcp_select_initial_window): the space is the receive
 * buffer net.ipv4.tcp_rmem[1] (131072) through tcp_win_from_space with the default scaling
 * ratio 1/2 -> 65536, rounded down to a multiple of the MSS the peer will use: the SYN's
 * 64240 = 44 * 1460 with MTU 1500; a SYN-ACK to a peer that offered timestamps uses MSS - 12,
 * 65160 = 45 * 1448; in a pod with MTU 1450: 64860 = 46 * 1410. The shift is
 * ilog2(max(tcp_rmem[2], rmem_max)) - 15 clamped to 0..14: 10 with Linux 6.x defaults
 * (tcp_rmem[2] = 32 MiB), 7 on kernels whose tcp_rmem[2] was 6 MiB.
 *
 * Established segments advertise __tcp_select_window: the free space clamped to
 * rcv_ssthresh (the initial window), rounded UP to a multiple of 2^wscale, then shifted:
 * 64240 -> 64512 -> 63 and 65160 -> 65536 -> 64, as a capture shows. rcv_ssthresh then grows
 * per data segment of 128 bytes or more (tcp_grow_window) and the free space follows the
 * scaling ratio measured from segment truesize (segmentTruesize); the receive buffer itself
 * stays at tcp_rmem[1] (no tcp_rcv_space_adjust autotuning), so long bulk transfers advertise
 * less than a real kernel's.
 */
import type { TcpOption } from '../../wire/tcp.js';

export interface TcpRmem {
  readonly rmemDefault: number;
  readonly rmemMax: number;
  readonly coreRmemMax: number;
}

/** Linux 6.18 defaults: net.ipv4.tcp_rmem = 4096 131072 33554432, net.core.rmem_max = 4194304. */
export const LINUX_RMEM: TcpRmem = { rmemDefault: 131072, rmemMax: 33554432, coreRmemMax: 4194304 };

/** tcp_win_from_space with the default scaling_ratio (TCP_DEFAULT_SCALING_RATIO = 1/2). */
export function winFromSpace(space: number): number {
  return space - (space >> 1);
}

/** tcp_select_initial_window: the window for the SYN / SYN-ACK and the window scale. */
export function initialWindow(rmem: TcpRmem, mss: number, wscaleOk: boolean): { rcvWnd: number; wscale: number } {
  let space = winFromSpace(rmem.rmemDefault);
  if (space > mss) space -= space % mss;
  let wscale = 0;
  if (wscaleOk) {
    const s = Math.max(rmem.rmemMax, rmem.coreRmemMax, space);
    wscale = Math.min(Math.max(Math.floor(Math.log2(s)) - 15, 0), 14);
  } else {
    space = Math.min(space, 65535);
  }
  return { rcvWnd: space, wscale };
}

/**
 * The window field of a non-SYN segment (__tcp_select_window + tcp_select_window): the free
 * receive space clamped to rcv_ssthresh; with window scaling rounded up to a multiple of
 * 2^wscale; without it, the current window kept while within one MSS of the free space. The
 * window never shrinks below what was already offered (`curWin`).
 */
export function advertisedWindow(rcvSsthresh: number, freeSpace: number, wscale: number, curWin: number, rcvWnd = 0, mss = 536): { field: number; rcvWnd: number } {
  let win: number;
  const free = Math.max(Math.min(freeSpace, rcvSsthresh), 0);
  if (wscale > 0) {
    const unit = 2 ** wscale;
    win = Math.ceil(free / unit) * unit;
  } else {
    win = rcvWnd;
    if (win <= free - mss || win > free) win = free > mss ? free - (free % mss) : free;
  }
  if (win < curWin) win = wscale > 0 ? Math.ceil(curWin / 2 ** wscale) * 2 ** wscale : curWin;
  const field = Math.min(Math.floor(win / 2 ** wscale), 65535);
  return { field, rcvWnd: win };
}

/**
 * skb->truesize of a received data segment of `len` bytes: the buffer the kernel charges to
 * the receive queue. Linux 6.x sizes the advertised window from it (scaling_ratio =
 * len * 256 / truesize, tcp_measure_rcv_mss) and from the queued truesize (tcp_space). A
 * veth-delivered segment written by a local TCP sender carries its payload in page fragments
 * behind a fixed head; 830 bytes of overhead, with tcp_init_buffer_space's clamp and the
 * segment charged before tcp_grow_window, reproduce the windows Linux 6.18 advertises after
 * one segment of 254 to 1448 bytes over a veth (63 up to 840 bytes, 65 at 860-880, 66 from
 * 900; test/linux/sock/kernel.test.ts). Other drivers (a NIC's page-pool buffers) charge
 * differently.
 */
export function segmentTruesize(len: number): number {
  return len + 830;
}

/** SOCK_MIN_RCVBUF / 2: the smallest window clamp tcp_set_window_clamp sets. */
export const MIN_WINDOW_CLAMP = 2304;

/** Options of a segment after the handshake: NOP NOP TS when timestamps are on. */
export function establishedOptions(tsOk: boolean, tsval: number, tsecr: number): TcpOption[] {
  return tsOk ? [{ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: tsval >>> 0, tsecr: tsecr >>> 0 }] : [];
}
