/**
 * `ss -n` for the TCP and UDP sockets of a namespace, in the text iproute2's ss prints when its
 * output is not a terminal (misc/ss.c, iproute2 6.1+: the "compact" render with no spare
 * space spread over the columns).
 *
 * Columns (ss.c `columns[]`): Netid (only when more than one protocol is listed), State,
 * Recv-Q, Send-Q, Local Address: (right-aligned), Port, Peer Address: (right-aligned), Port,
 * Process. Each column is as wide as its longest cell or header, plus its left delimiter
 * (" " for all but the first column and the two Port columns and Process); left-aligned
 * cells are padded on the right, so lines end with the spaces of the empty Process column.
 * Queues are printed as `%-6d`. An unset port is `*`.
 *
 * Rows: UDP before TCP (the order ss dumps them); within TCP the listeners first, then the
 * other sockets. The kernel lists sockets in hash-bucket order, which depends on per-boot and
 * per-namespace secrets (UDP: slot (port + net_hash_mix) & mask), so a real host's order
 * varies; here UDP goes by port, listeners by port and address, other TCP sockets by creation.
 * Which states are listed: default = connected states without TIME-WAIT and SYN-RECV (SS_CONN),
 * `-l` = listening (LISTEN, and UDP's UNCONN), `-a` = all.
 */
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { SocketLayer } from './stack.js';
import { SS_STATE_NAME, type TcpState } from './tcp-state.js';
import { TcpSocket } from './tcp.js';
import { TcpListener } from './tcp-ipv4.js';

export interface SsOptions {
  /** -t */
  readonly tcp?: boolean;
  /** -u */
  readonly udp?: boolean;
  /** -a: every state. */
  readonly all?: boolean;
  /** -l: listening sockets only. */
  readonly listening?: boolean;
}

interface Row {
  netid: string;
  state: string;
  rq: number;
  wq: number;
  laddr: string;
  lport: string;
  raddr: string;
  rport: string;
}

/** Parses an ss flag word such as `-tan` or `-lun` (n is implied: only numeric output exists). */
export function parseSsFlags(flags: string): SsOptions {
  const f = flags.replace(/^-/, '');
  if (!/^[tulan]*$/.test(f)) throw new Error(`ss: unsupported flags "${flags}" (supported: -t -u -l -a -n)`);
  return { tcp: f.includes('t'), udp: f.includes('u'), all: f.includes('a'), listening: f.includes('l') };
}

function wanted(state: string, o: SsOptions): boolean {
  const listenish = state === 'LISTEN' || state === 'UNCONN';
  if (o.all) return true;
  if (o.listening) return listenish;
  return !listenish && state !== 'TIME-WAIT' && state !== 'SYN-RECV';
}

function port(p: number): string {
  return p === 0 ? '*' : String(p);
}

/** The rows ss would print, before layout. */
function rows(layer: SocketLayer, o: SsOptions): Row[] {
  const both = !o.tcp && !o.udp;
  const out: Row[] = [];
  if (o.udp || both) {
    const udp = layer.udpTable.all().filter((s) => !s.closed);
    udp.sort((a, b) => a.localPort - b.localPort || a.seq - b.seq);
    for (const s of udp) {
      const state = s.remoteAddr !== 0 ? 'ESTAB' : 'UNCONN';
      if (!wanted(state, o)) continue;
      out.push({ netid: 'udp', state, rq: 0, wq: 0, laddr: formatIpv4(s.localAddr), lport: port(s.localPort), raddr: formatIpv4(s.remoteAddr), rport: port(s.remotePort) });
    }
  }
  if (o.tcp || both) {
    const all = layer.tcpTable.all();
    const listeners = all.filter((s): s is TcpListener => s instanceof TcpListener && s.listening);
    listeners.sort((a, b) => a.localPort - b.localPort || a.localAddr - b.localAddr);
    const conns = all.filter((s): s is TcpSocket => s instanceof TcpSocket && s.state !== 'CLOSE');
    conns.sort((a, b) => a.seq - b.seq);
    for (const s of [...listeners, ...conns]) {
      const st: TcpState = s instanceof TcpListener ? 'LISTEN' : s.state;
      const state = SS_STATE_NAME[st];
      if (!wanted(state, o)) continue;
      out.push({ netid: 'tcp', state, rq: s.recvQ, wq: s.sendQ, laddr: formatIpv4(s.localAddr), lport: port(s.localPort), raddr: formatIpv4(s.remoteAddr), rport: port(s.remotePort) });
    }
  }
  return out;
}

interface Column {
  readonly header: string;
  readonly ldelim: string;
  readonly align: 'left' | 'right';
}

const COLUMNS: readonly Column[] = [
  { header: 'Netid', ldelim: '', align: 'left' },
  { header: 'State', ldelim: ' ', align: 'left' },
  { header: 'Recv-Q', ldelim: ' ', align: 'left' },
  { header: 'Send-Q', ldelim: ' ', align: 'left' },
  { header: 'Local Address:', ldelim: ' ', align: 'right' },
  { header: 'Port', ldelim: '', align: 'left' },
  { header: 'Peer Address:', ldelim: ' ', align: 'right' },
  { header: 'Port', ldelim: '', align: 'left' },
  { header: 'Process', ldelim: '', align: 'left' },
];

/** `ss` output for the options, every line ending in "\n". */
export function formatSs(layer: SocketLayer, o: SsOptions = {}): string {
  const rs = rows(layer, o);
  const both = (o.tcp && o.udp) || (!o.tcp && !o.udp);
  const cells: string[][] = rs.map((r) => [
    r.netid,
    r.state,
    String(r.rq).padEnd(6),
    String(r.wq).padEnd(6),
    `${r.laddr}:`,
    r.lport,
    `${r.raddr}:`,
    r.rport,
    '',
  ]);
  const enabled = COLUMNS.map((_, i) => i !== 0 || both);
  const lines = [COLUMNS.map((c) => c.header), ...cells];
  // render_calc_width, compact: content width, plus the delimiter unless first on the line.
  const width: number[] = COLUMNS.map(() => 0);
  let first = true;
  for (let i = 0; i < COLUMNS.length; i++) {
    if (!enabled[i]) continue;
    const max = Math.max(...lines.map((l) => l[i]!.length));
    width[i] = !first && max > 0 ? max + COLUMNS[i]!.ldelim.length : max;
    if (width[i]! > 0) first = false;
  }
  // render: delimiter once a line has started, then left/right spacing.
  let text = '';
  for (const l of lines) {
    let started = false;
    for (let i = 0; i < COLUMNS.length; i++) {
      if (!enabled[i]) continue;
      const c = COLUMNS[i]!;
      const w = width[i]!;
      const cell = l[i]!;
      let printed = 0;
      if (started) {
        text += c.ldelim;
        printed = c.ldelim.length;
      }
      started = true;
      if (w > 0 && c.align === 'right') {
        const s = w - cell.length - printed;
        if (s > 0) {
          text += ' '.repeat(s);
          printed += s;
        }
      }
      text += cell;
      printed += cell.length;
      if (w > 0 && c.align === 'left' && w - printed > 0) text += ' '.repeat(w - printed);
    }
    text += '\n';
  }
  return text;
}
