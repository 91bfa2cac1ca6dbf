import { WireError } from '../wire/error.js';
import type { Direction } from './capture.js';
import {
  BT_EPB,
  BT_IDB,
  BT_SHB,
  BT_SPB,
  BYTE_ORDER_MAGIC,
  EPB_FLAGS,
  IF_DESCRIPTION,
  IF_MACADDR,
  IF_NAME,
  IF_TSOFFSET,
  IF_TSRESOL,
  OPT_COMMENT,
  OPT_ENDOFOPT,
  PCAP_GLOBAL_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
  SHB_HARDWARE,
  SHB_OS,
  SHB_USERAPPL,
} from './format.js';

/** One interface of a capture. Classic pcap files have exactly one, unnamed. */
export interface CaptureInterface {
  /** Index within its section, as EPBs refer to it. */
  readonly id: number;
  readonly section: number;
  readonly linktype: number;
  readonly snaplen: number;
  readonly name: string | null;
  readonly description: string | null;
  readonly mac: number | null;
  /** Raw if_tsresol byte (6 when absent; classic pcap: 6 or 9 from the magic). */
  readonly tsresol: number;
}

export interface CaptureRecord {
  readonly section: number;
  readonly interfaceId: number;
  readonly interfaceName: string | null;
  readonly linktype: number;
  /** Nanoseconds since 1970 (bigint: real wall-clock nanoseconds exceed 2^53). */
  readonly timestampNs: bigint;
  /** The captured bytes: a view into the input, not a copy. */
  readonly data: Uint8Array;
  readonly originalLength: number;
  /** Raw epb_flags, or null when the block has none (always null in classic pcap). */
  readonly flags: number | null;
  /** epb_flags bits 0-1: 1 inbound, 2 outbound; null when absent or 0 / 3. */
  readonly direction: Direction | null;
  /** The first opt_comment, or null. */
  readonly comment: string | null;
  readonly comments: readonly string[];
}

export interface SectionInfo {
  readonly application: string | null;
  readonly hardware: string | null;
  readonly os: string | null;
  readonly comment: string | null;
}

export interface CaptureFile {
  readonly format: 'pcap' | 'pcapng';
  /** Byte order of the (first) section. */
  readonly byteOrder: 'le' | 'be';
  /** Classic pcap only: timestamp resolution from the magic. */
  readonly resolution: 'micros' | 'nanos' | null;
  readonly sections: readonly SectionInfo[];
  readonly interfaces: readonly CaptureInterface[];
  readonly records: readonly CaptureRecord[];
}

/** Reads a whole classic pcap or pcapng file. Malformed input raises WireError naming the field. */
export function readCapture(bytes: Uint8Array): CaptureFile {
  if (bytes.length < 4) throw new WireError('capture.magic', `file of ${bytes.length} bytes has no magic number`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const be = dv.getUint32(0, false);
  if (be === BT_SHB) return readPcapng(bytes, dv);
  const le = dv.getUint32(0, true);
  for (const [magic, littleEndian] of [
    [be, false],
    [le, true],
  ] as const) {
    if (magic === PCAP_MAGIC_MICROS || magic === PCAP_MAGIC_NANOS) {
      return readPcap(bytes, dv, littleEndian, magic === PCAP_MAGIC_NANOS);
    }
  }
  throw new WireError('capture.magic', `0x${be.toString(16).padStart(8, '0')} is neither pcap nor pcapng`);
}

function readPcap(bytes: Uint8Array, dv: DataView, le: boolean, nanos: boolean): CaptureFile {
  if (bytes.length < PCAP_GLOBAL_HEADER_LENGTH) {
    throw new WireError('pcap.header', `truncated: ${bytes.length} of ${PCAP_GLOBAL_HEADER_LENGTH} bytes`);
  }
  const major = dv.getUint16(4, le);
  if (major !== 2) throw new WireError('pcap.version_major', `${major}, expected 2`);
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le) & 0x03ffffff; // upper bits: FCS length, reserved
  const iface: CaptureInterface = {
    id: 0,
    section: 0,
    linktype,
    snaplen,
    name: null,
    description: null,
    mac: null,
    tsresol: nanos ? 9 : 6,
  };
  const records: CaptureRecord[] = [];
  let at = PCAP_GLOBAL_HEADER_LENGTH;
  while (at < bytes.length) {
    const n = records.length;
    if (bytes.length - at < PCAP_RECORD_HEADER_LENGTH) {
      throw new WireError('pcap.record.header', `record ${n} at offset ${at}: truncated header`);
    }
    const sec = dv.getUint32(at, le);
    const frac = dv.getUint32(at + 4, le);
    const incl = dv.getUint32(at + 8, le);
    const orig = dv.getUint32(at + 12, le);
    at += PCAP_RECORD_HEADER_LENGTH;
    if (incl > bytes.length - at) {
      throw new WireError('pcap.record.incl_len', `record ${n}: ${incl} bytes but ${bytes.length - at} left`);
    }
    records.push({
      section: 0,
      interfaceId: 0,
      interfaceName: null,
      linktype,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nanos ? 1n : 1000n),
      data: bytes.subarray(at, at + incl),
      originalLength: orig,
      flags: null,
      direction: null,
      comment: null,
      comments: [],
    });
    at += incl;
  }
  return {
    format: 'pcap',
    byteOrder: le ? 'le' : 'be',
    resolution: nanos ? 'nanos' : 'micros',
    sections: [],
    interfaces: [iface],
    records,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Option {
  code: number;
  value: Uint8Array;
}

/** Options from `start` to `end` (exclusive); stops at opt_endofopt. */
function readOptions(bytes: Uint8Array, dv: DataView, le: boolean, start: number, end: number, where: string): Option[] {
  const out: Option[] = [];
  let at = start;
  while (end - at >= 4) {
    const code = dv.getUint16(at, le);
    const len = dv.getUint16(at + 2, le);
    if (code === OPT_ENDOFOPT) break;
    const padded = (len + 3) & ~3;
    if (padded > end - at - 4) throw new WireError(`${where}.option`, `option ${code} of ${len} bytes overruns the block`);
    out.push({ code, value: bytes.subarray(at + 4, at + 4 + len) });
    at += 4 + padded;
  }
  if (at !== end && end - at < 4) throw new WireError(`${where}.option`, `${end - at} stray bytes after the options`);
  return out;
}

function text(o: Option, where: string): string {
  try {
    return utf8.decode(o.value);
  } catch {
    throw new WireError(where, 'not valid UTF-8');
  }
}

function firstText(opts: Option[], code: number, where: string): string | null {
  const o = opts.find((x) => x.code === code);
  return o === undefined ? null : text(o, where);
}

function readPcapng(bytes: Uint8Array, dv: DataView): CaptureFile {
  const sections: SectionInfo[] = [];
  const interfaces: CaptureInterface[] = [];
  const records: CaptureRecord[] = [];
  let sectionIfaces: { iface: CaptureInterface; tsOffsetNs: bigint }[] = [];
  let le = true;
  let firstOrder: 'le' | 'be' = 'le';
  let at = 0;
  let block = 0;
  while (at < bytes.length) {
    const where = `pcapng.block[${block}]`;
    if (bytes.length - at < 12) throw new WireError(`${where}.header`, `truncated at offset ${at}`);
    const typeBe = dv.getUint32(at, false);
    if (typeBe === BT_SHB) {
      // The SHB's own byte-order magic says how to read its length and everything after it.
      if (bytes.length - at < 28) throw new WireError(`${where}.shb`, 'truncated section header');
      const magicLe = dv.getUint32(at + 8, true);
      if (magicLe === BYTE_ORDER_MAGIC) le = true;
      else if (dv.getUint32(at + 8, false) === BYTE_ORDER_MAGIC) le = false;
      else throw new WireError(`${where}.shb.byte_order_magic`, `0x${magicLe.toString(16)} is not 0x1a2b3c4d`);
      if (sections.length === 0) firstOrder = le ? 'le' : 'be';
    } else if (sections.length === 0) {
      throw new WireError(`${where}.type`, 'a pcapng file must start with a section header block');
    }
    const type = dv.getUint32(at, le);
    const total = dv.getUint32(at + 4, le);
    if (total < 12 || total % 4 !== 0) throw new WireError(`${where}.block_total_length`, `${total} is not a multiple of 4 >= 12`);
    if (total > bytes.length - at) {
      throw new WireError(`${where}.block_total_length`, `${total} bytes but ${bytes.length - at} left`);
    }
    const end = at + total - 4;
    const trailer = dv.getUint32(end, le);
    if (trailer !== total) throw new WireError(`${where}.block_total_length`, `trailing copy ${trailer} differs from ${total}`);
    const body = at + 8;
    switch (type) {
      case BT_SHB: {
        if (total < 28) throw new WireError(`${where}.shb`, 'too short');
        const major = dv.getUint16(body + 4, le);
        if (major !== 1) throw new WireError(`${where}.shb.major_version`, `${major}, expected 1`);
        const opts = readOptions(bytes, dv, le, body + 16, end, `${where}.shb`);
        sections.push({
          application: firstText(opts, SHB_USERAPPL, `${where}.shb_userappl`),
          hardware: firstText(opts, SHB_HARDWARE, `${where}.shb_hardware`),
          os: firstText(opts, SHB_OS, `${where}.shb_os`),
          comment: firstText(opts, OPT_COMMENT, `${where}.opt_comment`),
        });
        sectionIfaces = [];
        break;
      }
      case BT_IDB: {
        if (end - body < 8) throw new WireError(`${where}.idb`, 'too short');
        const opts = readOptions(bytes, dv, le, body + 8, end, `${where}.idb`);
        let tsresol = 6;
        let tsOffsetNs = 0n;
        let mac: number | null = null;
        for (const o of opts) {
          if (o.code === IF_TSRESOL) {
            if (o.value.length !== 1) throw new WireError(`${where}.if_tsresol`, `length ${o.value.length}, expected 1`);
            tsresol = o.value[0] ?? 6;
            const exp = tsresol & 0x7f;
            if ((tsresol & 0x80) === 0 ? exp > 19 : exp > 63) {
              throw new WireError(`${where}.if_tsresol`, `resolution 0x${tsresol.toString(16)} is out of range`);
            }
          } else if (o.code === IF_TSOFFSET) {
            if (o.value.length !== 8) throw new WireError(`${where}.if_tsoffset`, `length ${o.value.length}, expected 8`);
            tsOffsetNs = new DataView(o.value.buffer, o.value.byteOffset, 8).getBigInt64(0, le) * 1_000_000_000n;
          } else if (o.code === IF_MACADDR) {
            if (o.value.length !== 6) throw new WireError(`${where}.if_MACaddr`, `length ${o.value.length}, expected 6`);
            mac = 0;
            for (const b of o.value) mac = mac * 256 + b;
          }
        }
        const iface: CaptureInterface = {
          id: sectionIfaces.length,
          section: sections.length - 1,
          linktype: dv.getUint16(body, le),
          snaplen: dv.getUint32(body + 4, le),
          name: firstText(opts, IF_NAME, `${where}.if_name`),
          description: firstText(opts, IF_DESCRIPTION, `${where}.if_description`),
          mac,
          tsresol,
        };
        interfaces.push(iface);
        sectionIfaces.push({ iface, tsOffsetNs });
        break;
      }
      case BT_EPB: {
        if (end - body < 20) throw new WireError(`${where}.epb`, 'too short');
        const id = dv.getUint32(body, le);
        const known = sectionIfaces[id];
        if (known === undefined) throw new WireError(`${where}.epb.interface_id`, `${id} has no interface description block`);
        const ts = (BigInt(dv.getUint32(body + 4, le)) << 32n) | BigInt(dv.getUint32(body + 8, le));
        const captured = dv.getUint32(body + 12, le);
        const original = dv.getUint32(body + 16, le);
        const data = body + 20;
        if (captured > end - data) throw new WireError(`${where}.epb.captured_length`, `${captured} overruns the block`);
        const opts = readOptions(bytes, dv, le, data + ((captured + 3) & ~3), end, `${where}.epb`);
        let flags: number | null = null;
        const comments: string[] = [];
        for (const o of opts) {
          if (o.code === EPB_FLAGS) {
            if (o.value.length !== 4) throw new WireError(`${where}.epb_flags`, `length ${o.value.length}, expected 4`);
            flags = new DataView(o.value.buffer, o.value.byteOffset, 4).getUint32(0, le);
          } else if (o.code === OPT_COMMENT) {
            comments.push(text(o, `${where}.opt_comment`));
          }
        }
        records.push(packet(known.iface, known.tsOffsetNs, ts, bytes.subarray(data, data + captured), original, flags, comments));
        break;
      }
      case BT_SPB: {
        // Simple packet: interface 0, no timestamp; the captured length is min(original, snaplen).
        if (end - body < 4) throw new WireError(`${where}.spb`, 'too short');
        const known = sectionIfaces[0];
        if (known === undefined) throw new WireError(`${where}.spb`, 'no interface description block');
        const original = dv.getUint32(body, le);
        const snap = known.iface.snaplen;
        const captured = snap === 0 ? original : Math.min(original, snap);
        if (captured > end - body - 4) throw new WireError(`${where}.spb.original_length`, `${captured} overruns the block`);
        records.push(packet(known.iface, known.tsOffsetNs, null, bytes.subarray(body + 4, body + 4 + captured), original, null, []));
        break;
      }
      default:
        break; // NRB, ISB, DSB and custom blocks: nothing a test needs
    }
    at += total;
    block++;
  }
  return { format: 'pcapng', byteOrder: firstOrder, resolution: null, sections, interfaces, records };
}

function packet(
  iface: CaptureInterface,
  tsOffsetNs: bigint,
  ts: bigint | null,
  data: Uint8Array,
  originalLength: number,
  flags: number | null,
  comments: string[],
): CaptureRecord {
  const dirBits = flags === null ? 0 : flags & 3;
  return {
    section: iface.section,
    interfaceId: iface.id,
    interfaceName: iface.name,
    linktype: iface.linktype,
    timestampNs: ts === null ? 0n : toNanos(ts, iface.tsresol) + tsOffsetNs,
    data,
    originalLength,
    flags,
    direction: dirBits === 1 ? 'in' : dirBits === 2 ? 'out' : null,
    comment: comments[0] ?? null,
    comments,
  };
}

/** A timestamp in if_tsresol units to nanoseconds (truncating finer resolutions). */
function toNanos(ts: bigint, tsresol: number): bigint {
  const exp = BigInt(tsresol & 0x7f);
  if ((tsresol & 0x80) !== 0) return (ts * 1_000_000_000n) >> exp;
  return exp <= 9n ? ts * 10n ** (9n - exp) : ts / 10n ** (exp - 9n);
}
