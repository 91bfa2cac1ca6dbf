/**
 * One packet: a byte buffer with headroom, as the kernel's sk_buff. Data lives in
 * `buf[head, end)`. Encapsulation (VXLAN prepending outer Ethernet/IPv4/UDP/VXLAN headers)
 * moves `head` back into the headroom without copying the inner frame; decapsulation moves
 * it forward. NAT rewrites fields in place.
 *
 * `mac`, `network` and `transport` are absolute offsets into `buf` of the current link,
 * network and transport headers (skb->mac_header, network_header, transport_header); -1 when
 * not set. `mark` is skb->mark; `ct`/`ctinfo` are the conntrack entry and its relation
 * (skb->_nfct), opaque here and owned by netfilter/.
 */
/**
 * Packet memory comes from shared slabs: a fresh typed array with its own backing store costs
 * about half a microsecond in V8 (off-heap ArrayBuffer), a view into a slab a tenth of that.
 * Slab memory is never reused, so every block starts zeroed. Blocks are 8-byte aligned. Views
 * into a slab share `buf.buffer` with other packets: always use `buf.byteOffset`/`byteLength`.
 */
const SLAB_SIZE = 256 * 1024;
const SLAB_MAX_BLOCK = 16 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

/** `n` zero bytes, carved from the current slab when small. */
export function allocPacketBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_BLOCK) return new Uint8Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += (n + 7) & ~7;
  return b;
}

let lastTraceId = 0;

/**
 * The packet's trace number, given on first use. Numbers are unique in the process, not per
 * simulation: printers renumber packets by first appearance, so output stays deterministic.
 */
export function tracePacketId(p: PacketBuffer): number {
  return p.trace === 0 ? (p.trace = ++lastTraceId) : p.trace;
}

export class PacketBuffer {
  buf: Uint8Array;
  head: number;
  end: number;
  mac = -1;
  network = -1;
  transport = -1;
  mark = 0;
  ct: object | null = null;
  ctinfo = 0;
  /**
   * The packet's number in a trace (0 until a trace names it, see `tracePacketId`). Copies keep
   * it: the same frame flooded to another bridge port or carried to another machine is the
   * same packet to the person following it, as pwru follows one skb.
   */
  trace = 0;

  /** Headroom reserved by default: enough for one VXLAN encapsulation (14+20+8+8) twice. */
  static readonly DEFAULT_HEADROOM = 128;

  constructor(buf: Uint8Array, head: number, end: number) {
    this.buf = buf;
    this.head = head;
    this.end = end;
  }

  /** A zero-filled packet of `length` bytes with `headroom` free bytes in front. */
  static alloc(length: number, headroom = PacketBuffer.DEFAULT_HEADROOM): PacketBuffer {
    return new PacketBuffer(allocPacketBytes(headroom + length), headroom, headroom + length);
  }

  /** Copies `bytes` into a new packet with headroom. */
  static from(bytes: Uint8Array, headroom = PacketBuffer.DEFAULT_HEADROOM): PacketBuffer {
    const p = PacketBuffer.alloc(bytes.length, headroom);
    p.buf.set(bytes, headroom);
    return p;
  }

  get length(): number {
    return this.end - this.head;
  }

  get headroom(): number {
    return this.head;
  }

  /** The packet's bytes, a view (no copy). Valid until the next push/put that reallocates. */
  data(): Uint8Array {
    return this.buf.subarray(this.head, this.end);
  }

  /** A view from an absolute offset (e.g. `network`) to the end of data. */
  from(offset: number): Uint8Array {
    return this.buf.subarray(offset, this.end);
  }

  /**
   * Prepends `n` bytes (skb_push) and answers the new head offset. Reallocates only when the
   * headroom is too small, keeping the header offsets valid.
   */
  push(n: number): number {
    if (n > this.head) this.grow(n - this.head + PacketBuffer.DEFAULT_HEADROOM, 0);
    this.head -= n;
    return this.head;
  }

  /** Removes `n` bytes from the front (skb_pull). */
  pull(n: number): void {
    if (n > this.length) throw new RangeError(`pull(${n}) beyond packet length ${this.length}`);
    this.head += n;
  }

  /** Appends `n` bytes at the tail (skb_put) and answers the offset where they start. */
  put(n: number): number {
    if (this.end + n > this.buf.length) this.grow(0, n);
    const at = this.end;
    this.end += n;
    return at;
  }

  /** Cuts the data to `length` bytes (skb_trim). */
  trim(length: number): void {
    if (length < this.length) this.end = this.head + length;
  }

  /** A full copy, with the same headroom, offsets and metadata (skb_copy). */
  clone(): PacketBuffer {
    const copy = allocPacketBytes(this.buf.length);
    copy.set(this.buf);
    const p = new PacketBuffer(copy, this.head, this.end);
    p.mac = this.mac;
    p.network = this.network;
    p.transport = this.transport;
    p.mark = this.mark;
    p.ct = this.ct;
    p.ctinfo = this.ctinfo;
    p.trace = this.trace;
    return p;
  }

  private grow(front: number, back: number): void {
    const nb = allocPacketBytes(this.buf.length + front + back);
    nb.set(this.buf, front);
    this.buf = nb;
    this.head += front;
    this.end += front;
    if (this.mac >= 0) this.mac += front;
    if (this.network >= 0) this.network += front;
    if (this.transport >= 0) this.transport += front;
  }
}
