import type { CaptureSink, Direction } from './capture.js';
import {
  DEFAULT_SNAPLEN,
  LINKTYPE_ETHERNET,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_VERSION_MAJOR,
  PCAP_VERSION_MINOR,
} from './format.js';
import { NS_PER_S, Scratch, checkEpoch, checkTime } from './scratch.js';
import type { ByteSink } from './sink.js';

export interface PcapWriterOptions {
  /** 'nanos' writes the 0xa1b23c4d magic; 'micros' (libpcap's default) 0xa1b2c3d4. */
  resolution?: 'micros' | 'nanos';
  snaplen?: number;
  linktype?: number;
  /** Byte order of every header field; libpcap writes the host's (little-endian here). */
  byteOrder?: 'le' | 'be';
  /** Wall-clock second that simulated time 0 maps to (default 0 = 1970-01-01T00:00:00Z). */
  epochSeconds?: number;
}

/**
 * Classic libpcap file (linux-path.md §6.3): a 24-byte global header, then per frame a
 * 16-byte record header and the captured bytes, no padding. One link type per file and no
 * interface names, directions or comments: frames from every interface go to one stream.
 */
export class PcapWriter implements CaptureSink {
  readonly snaplen: number;
  readonly resolution: 'micros' | 'nanos';
  private readonly epochSeconds: number;
  private readonly scratch: Scratch;

  constructor(
    private readonly sink: ByteSink,
    options: PcapWriterOptions = {},
  ) {
    this.snaplen = options.snaplen ?? DEFAULT_SNAPLEN;
    this.resolution = options.resolution ?? 'micros';
    this.epochSeconds = options.epochSeconds ?? 0;
    checkEpoch(this.epochSeconds);
    if (!Number.isInteger(this.snaplen) || this.snaplen <= 0 || this.snaplen > 0xffffffff) {
      throw new RangeError(`snaplen must be a positive 32-bit integer, got ${this.snaplen}`);
    }
    this.scratch = new Scratch((options.byteOrder ?? 'le') === 'le');
    const s = this.scratch;
    s.u32(this.resolution === 'nanos' ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS);
    s.u16(PCAP_VERSION_MAJOR);
    s.u16(PCAP_VERSION_MINOR);
    s.i32(0); // thiszone: timestamps are UTC
    s.u32(0); // sigfigs: always 0
    s.u32(this.snaplen);
    s.u32(options.linktype ?? LINKTYPE_ETHERNET);
    sink.write(s.filled());
  }

  /** Writes one record; the interface name, direction and comment have no place in this format. */
  frame(_ifaceName: string, timeNs: number, bytes: Uint8Array, _direction?: Direction, _comment?: string): void {
    this.packet(timeNs, bytes);
  }

  /** Writes one record holding the first `snaplen` bytes of `bytes`. */
  packet(timeNs: number, bytes: Uint8Array): void {
    checkTime(timeNs);
    const sec = this.epochSeconds + Math.floor(timeNs / NS_PER_S);
    if (sec > 0xffffffff) throw new RangeError(`time ${timeNs} ns is past what ts_sec (u32) can hold`);
    const ns = timeNs % NS_PER_S;
    const captured = Math.min(bytes.length, this.snaplen);
    const s = this.scratch;
    s.reset();
    s.u32(sec);
    s.u32(this.resolution === 'nanos' ? ns : Math.floor(ns / 1000));
    s.u32(captured);
    s.u32(bytes.length);
    s.bytes(captured === bytes.length ? bytes : bytes.subarray(0, captured));
    this.sink.write(s.filled());
  }

  close(): void {
    this.sink.close?.();
  }
}
