import type { CaptureSink, Direction } from './capture.js';
import {
  BT_EPB,
  BT_IDB,
  BT_SHB,
  BYTE_ORDER_MAGIC,
  DEFAULT_SNAPLEN,
  EPB_FLAGS,
  EPB_FLAGS_INBOUND,
  EPB_FLAGS_OUTBOUND,
  IF_DESCRIPTION,
  IF_MACADDR,
  IF_NAME,
  IF_TSRESOL,
  LINKTYPE_ETHERNET,
  OPT_COMMENT,
  OPT_ENDOFOPT,
  SHB_HARDWARE,
  SHB_OS,
  SHB_USERAPPL,
} from './format.js';
import { NS_PER_S, Scratch, checkEpoch, checkTime } from './scratch.js';
import type { ByteSink } from './sink.js';

export interface PcapngWriterOptions {
  /** shb_userappl; default "kubewire". */
  application?: string;
  /** shb_hardware, shb_os: shown by capinfos as "Capture hardware" / "Capture oper-sys". */
  hardware?: string;
  os?: string;
  /** SHB opt_comment: capinfos "Capture comment" (e.g. scenario and seed). */
  comment?: string;
  /** Snapshot length of interfaces added without one; 0 = no limit (pcapng only). */
  snaplen?: number;
  byteOrder?: 'le' | 'be';
  /** Wall-clock second that simulated time 0 maps to (default 0 = 1970-01-01T00:00:00Z). */
  epochSeconds?: number;
}

export interface InterfaceOptions {
  /** if_description: Wireshark's frame.interface_description. */
  description?: string;
  /** if_MACaddr, a 48-bit MAC address (MacAddr). */
  mac?: number;
  linktype?: number;
  snaplen?: number;
}

const encoder = new TextEncoder();

/**
 * pcapng file (linux-path.md §6.4): one Section Header Block, then an Interface Description
 * Block the first time each interface is seen (named `node/netns/dev`, if_tsresol 9 so
 * timestamps are nanoseconds), and one Enhanced Packet Block per frame with its direction
 * in epb_flags and an optional comment. Each block goes to the sink as soon as it is built.
 */
export class PcapngWriter implements CaptureSink {
  private readonly scratch: Scratch;
  private readonly ids = new Map<string, number>();
  private readonly snaplens: number[] = [];
  private readonly defaultSnaplen: number;
  private readonly epochNs: bigint;

  constructor(
    private readonly sink: ByteSink,
    options: PcapngWriterOptions = {},
  ) {
    this.defaultSnaplen = checkSnaplen(options.snaplen ?? DEFAULT_SNAPLEN);
    const epoch = options.epochSeconds ?? 0;
    checkEpoch(epoch);
    this.epochNs = BigInt(epoch) * BigInt(NS_PER_S);
    this.scratch = new Scratch((options.byteOrder ?? 'le') === 'le');
    const s = this.scratch;
    const start = this.begin(BT_SHB);
    s.u32(BYTE_ORDER_MAGIC);
    s.u16(1); // major
    s.u16(0); // minor
    s.i64(-1n); // section length unknown: we stream
    if (options.comment !== undefined) this.stringOption(OPT_COMMENT, options.comment);
    if (options.hardware !== undefined) this.stringOption(SHB_HARDWARE, options.hardware);
    if (options.os !== undefined) this.stringOption(SHB_OS, options.os);
    this.stringOption(SHB_USERAPPL, options.application ?? 'kubewire');
    this.endOptions();
    this.finish(start);
  }

  /** Number of interfaces described so far; their ids are 0 .. count-1 in order of appearance. */
  get interfaceCount(): number {
    return this.snaplens.length;
  }

  /** The interface id of `name`, or undefined if no frame or addInterface has named it. */
  interfaceId(name: string): number | undefined {
    return this.ids.get(name);
  }

  /**
   * Writes the IDB for `name` now (to give it a description or MAC); returns its id.
   * A name already described keeps its first IDB and id.
   */
  addInterface(name: string, options: InterfaceOptions = {}): number {
    const known = this.ids.get(name);
    if (known !== undefined) return known;
    const snaplen = checkSnaplen(options.snaplen ?? this.defaultSnaplen);
    const s = this.scratch;
    const start = this.begin(BT_IDB);
    s.u16(options.linktype ?? LINKTYPE_ETHERNET);
    s.u16(0); // reserved
    s.u32(snaplen);
    this.stringOption(IF_NAME, name);
    if (options.description !== undefined) this.stringOption(IF_DESCRIPTION, options.description);
    if (options.mac !== undefined) {
      const mac = options.mac;
      if (!Number.isInteger(mac) || mac < 0 || mac > 0xffffffffffff) throw new RangeError(`bad MAC ${mac}`);
      s.u16(IF_MACADDR);
      s.u16(6);
      // A MAC is a byte string: network order whatever the section's byte order.
      for (let i = 5; i >= 0; i--) s.u8(Math.floor(mac / 2 ** (8 * i)) % 256);
      s.pad4();
    }
    s.u16(IF_TSRESOL);
    s.u16(1);
    s.u8(9); // 10^-9 s: nanoseconds
    s.pad4();
    this.endOptions();
    this.finish(start);
    const id = this.snaplens.length;
    this.snaplens.push(snaplen);
    this.ids.set(name, id);
    return id;
  }

  frame(ifaceName: string, timeNs: number, bytes: Uint8Array, direction: Direction, comment?: string): void {
    checkTime(timeNs);
    const id = this.ids.get(ifaceName) ?? this.addInterface(ifaceName);
    const snaplen = this.snaplens[id] ?? this.defaultSnaplen;
    const captured = snaplen === 0 ? bytes.length : Math.min(bytes.length, snaplen); // 0 = no limit
    const ts = this.epochNs + BigInt(timeNs);
    const s = this.scratch;
    const start = this.begin(BT_EPB);
    s.u32(id);
    s.u32(Number(ts >> 32n)); // timestamp high, then low: a u64 split in two u32s
    s.u32(Number(ts & 0xffffffffn));
    s.u32(captured);
    s.u32(bytes.length);
    s.bytes(captured === bytes.length ? bytes : bytes.subarray(0, captured));
    s.pad4();
    if (comment !== undefined) this.stringOption(OPT_COMMENT, comment);
    s.u16(EPB_FLAGS);
    s.u16(4);
    s.u32(direction === 'in' ? EPB_FLAGS_INBOUND : EPB_FLAGS_OUTBOUND);
    this.endOptions();
    this.finish(start);
  }

  close(): void {
    this.sink.close?.();
  }

  /** Starts a block in the scratch; returns where its total-length field is. */
  private begin(type: number): number {
    const s = this.scratch;
    s.reset();
    s.u32(type);
    s.u32(0); // total length, patched by finish
    return 4;
  }

  /** Appends the trailing total length, patches the leading one and writes the block out. */
  private finish(lengthAt: number): void {
    const s = this.scratch;
    const total = s.length + 4;
    s.u32(total);
    s.patchU32(lengthAt, total);
    this.sink.write(s.filled());
  }

  private stringOption(code: number, value: string): void {
    const bytes = encoder.encode(value);
    if (bytes.length > 0xffff) throw new RangeError(`pcapng option ${code} longer than 65535 bytes`);
    const s = this.scratch;
    s.u16(code);
    s.u16(bytes.length);
    s.bytes(bytes);
    s.pad4();
  }

  private endOptions(): void {
    this.scratch.u16(OPT_ENDOFOPT);
    this.scratch.u16(0);
  }
}

function checkSnaplen(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`snaplen must be a 32-bit integer, got ${n}`);
  return n;
}
