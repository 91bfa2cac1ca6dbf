// Decodes a capture with the real tshark and reports, per frame, what a Wireshark user would
// see: protocols, interface name, comments, checksum verdicts, expert infos, malformed marks.
// tshark 4.0 verifies IP/UDP/TCP checksums only when asked (linux-path.md §6.1); ICMP
// checksums are always verified. flannel's VXLAN port needs Decode As (§6.2).
import { execFileSync } from 'node:child_process';

/** Preference names from `tshark -G defaultprefs | grep checksum` (tshark 4.0.17). */
export const CHECKSUM_PREFS = ['ip.check_checksum:TRUE', 'udp.check_checksum:TRUE', 'tcp.check_checksum:TRUE'];

/** `*.checksum.status` values (`tshark -G values`): 0 Bad, 1 Good, 2 Unverified, 3 Not present, 4 Illegal. */
export const CHECKSUM_GOOD = 1;

/** Expert severities and groups, as epan/proto.h PI_* (`_ws.expert.severity` / `.group`). */
const SEVERITY: Record<number, ExpertSeverity> = {
  0x00100000: 'comment',
  0x00200000: 'chat',
  0x00400000: 'note',
  0x00600000: 'warn',
  0x00800000: 'error',
};
const GROUP: Record<number, string> = {
  0x01000000: 'checksum',
  0x02000000: 'sequence',
  0x03000000: 'response-code',
  0x04000000: 'request-code',
  0x05000000: 'undecoded',
  0x06000000: 'reassemble',
  0x07000000: 'malformed',
  0x08000000: 'debug',
  0x09000000: 'protocol',
  0x0a000000: 'security',
  0x0b000000: 'comments',
  0x0c000000: 'decryption',
  0x0d000000: 'assumption',
  0x0e000000: 'deprecated',
};

export type ExpertSeverity = 'comment' | 'chat' | 'note' | 'warn' | 'error';

export interface ExpertInfo {
  severity: ExpertSeverity;
  group: string;
  message: string;
  /** The expert field that raised it, e.g. `tcp.connection.syn`. */
  field: string;
}

export interface TsharkFrame {
  number: number;
  /** `frame.protocols` split, e.g. [eth, ethertype, ip, udp, vxlan, eth, ethertype, ip, tcp]. */
  protocols: string[];
  interfaceName: string | null;
  interfaceDescription: string | null;
  comments: string[];
  /** `frame.packet_flags_direction`: 1 inbound, 2 outbound (pcapng epb_flags). */
  direction: number | null;
  /** `frame.time_epoch` as tshark prints it (seconds.nanoseconds). */
  timeEpoch: string;
  /** Every `<proto>.checksum.status` in the frame, outer and inner, in order: ip -> [1, 1]. */
  checksums: Record<string, number[]>;
  expert: ExpertInfo[];
  /** Every `_ws.malformed*` field present. */
  malformed: string[];
  /** Every field value in the frame by name, in order (duplicates from inner headers kept). */
  fields: Map<string, string[]>;
  /** The frame's bytes as tshark read them (only with `raw: true`). */
  raw: Uint8Array | null;
}

export interface TsharkOptions {
  /** Decode-As rules; default `udp.port==8472,vxlan`. */
  decodeAs?: string[];
  /** Also return each frame's bytes (`-x`). */
  raw?: boolean;
}

/** Runs `tshark -r file -T json` with checksum validation on and decodes every frame. */
export function tsharkFrames(file: string, options: TsharkOptions = {}): TsharkFrame[] {
  const args = ['-r', file, '-T', 'json', '--no-duplicate-keys'];
  for (const p of CHECKSUM_PREFS) args.push('-o', p);
  for (const d of options.decodeAs ?? ['udp.port==8472,vxlan']) args.push('-d', d);
  if (options.raw) args.push('-x');
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  const packets = JSON.parse(out) as { _source: { layers: Record<string, unknown> } }[];
  return packets.map((p) => toFrame(p._source.layers));
}

function toFrame(layers: Record<string, unknown>): TsharkFrame {
  const fields = new Map<string, string[]>();
  const expert: ExpertInfo[] = [];
  const malformed: string[] = [];
  const add = (k: string, v: string) => {
    const list = fields.get(k);
    if (list) list.push(v);
    else fields.set(k, [v]);
  };
  const walk = (key: string, value: unknown): void => {
    if (key.startsWith('_ws.malformed')) malformed.push(key);
    if (Array.isArray(value)) {
      for (const v of value) walk(key, v);
      return;
    }
    if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      if (key === '_ws.expert') expert.push(...expertOf(obj));
      for (const [k, v] of Object.entries(obj)) if (!k.endsWith('_raw')) walk(k, v);
      return;
    }
    add(key, String(value));
  };
  let raw: Uint8Array | null = null;
  for (const [k, v] of Object.entries(layers)) {
    // With -x every layer also gets `<proto>_raw: [hex, offset, length, ...]`; keep the frame's.
    if (k.endsWith('_raw')) {
      if (k === 'frame_raw' && Array.isArray(v)) raw = new Uint8Array(Buffer.from(String(v[0]), 'hex'));
      continue;
    }
    walk(k, v);
  }
  const first = (k: string) => fields.get(k)?.[0] ?? null;
  const checksums: Record<string, number[]> = {};
  for (const [k, vs] of fields) {
    const m = /^([a-z0-9_]+)\.checksum\.status$/.exec(k);
    if (m?.[1] !== undefined) checksums[m[1]] = vs.map(Number);
  }
  const dir = first('frame.packet_flags_direction');
  return {
    number: Number(first('frame.number')),
    protocols: (first('frame.protocols') ?? '').split(':'),
    interfaceName: first('frame.interface_name'),
    interfaceDescription: first('frame.interface_description'),
    comments: fields.get('frame.comment') ?? [],
    direction: dir === null ? null : Number(dir),
    timeEpoch: first('frame.time_epoch') ?? '',
    checksums,
    expert,
    malformed,
    fields,
    raw,
  };
}

/** One `_ws.expert` object; with --no-duplicate-keys several merge into arrays. */
function expertOf(obj: Record<string, unknown>): ExpertInfo[] {
  const list = (k: string): string[] => {
    const v = obj[k];
    return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
  };
  const sev = list('_ws.expert.severity');
  const grp = list('_ws.expert.group');
  const msg = list('_ws.expert.message');
  const names = Object.keys(obj).filter((k) => !k.startsWith('_ws.expert.'));
  return sev.map((s, i) => ({
    severity: SEVERITY[Number(s)] ?? 'error',
    group: GROUP[Number(grp[i])] ?? `0x${Number(grp[i]).toString(16)}`,
    message: msg[i] ?? '',
    field: names[i] ?? names[0] ?? '',
  }));
}

/**
 * What makes a frame unclean: any malformed mark, any expert error, any checksum-group
 * warning, any checksum status other than Good. Empty when tshark is happy.
 */
export function frameProblems(f: TsharkFrame): string[] {
  const out: string[] = [];
  for (const m of f.malformed) out.push(`frame ${f.number}: ${m}`);
  for (const e of f.expert) {
    if (e.severity === 'error' || (e.group === 'checksum' && e.severity !== 'comment' && e.severity !== 'chat')) {
      out.push(`frame ${f.number}: expert ${e.severity}/${e.group} ${e.field}: ${e.message}`);
    }
  }
  for (const [proto, statuses] of Object.entries(f.checksums)) {
    statuses.forEach((s, i) => {
      if (s !== CHECKSUM_GOOD) out.push(`frame ${f.number}: ${proto}.checksum.status[${i}] = ${s}, not 1 (Good)`);
    });
  }
  return out;
}

export function captureProblems(frames: TsharkFrame[]): string[] {
  return frames.flatMap(frameProblems);
}
