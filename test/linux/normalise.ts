// Normalising captured frames for comparison with the kernel: zero what differs by design
// (IP IDs and the checksums they feed, ICMP echo ids and ping timestamps, UDP source ports and
// checksums, the VXLAN source port), recursing into VXLAN inner frames and ICMP error quotes.
// TCP, as test/linux/sock/frames.ts does it: seq/ack relative to each endpoint's ISN (seen on
// its SYN, so this needs the frames of one interface in order: `normaliser()`), TSval/TSecr
// zeroed, ephemeral ports (>= 32768, ip_local_port_range) zeroed, the checksum zeroed (it
// covers all of those; the kernel also leaves it partial on veth).

/** A normaliser for one interface's frames in capture order (keeps TCP ISNs); answers hex. */
export function normaliser(): (frame: Uint8Array) => string {
  const isn = new Map<string, number>();
  return (frame) => {
    const b = frame.slice();
    const u32 = (o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    const put32 = (o: number, v: number): void => {
      b[o] = v >>> 24;
      b[o + 1] = (v >>> 16) & 255;
      b[o + 2] = (v >>> 8) & 255;
      b[o + 3] = v & 255;
    };
    const tcpAt = (ipo: number, t: number): void => {
      if (b.length < t + 20) return;
      const sport = (b[t]! << 8) | b[t + 1]!;
      const dport = (b[t + 2]! << 8) | b[t + 3]!;
      const me = `${u32(ipo + 12)}:${sport}`;
      const peer = `${u32(ipo + 16)}:${dport}`;
      const flags = b[t + 13]!;
      if (flags & 0x02 && !isn.has(me)) isn.set(me, u32(t + 4));
      const mine = isn.get(me);
      if (mine !== undefined) put32(t + 4, (u32(t + 4) - mine) >>> 0);
      const theirs = isn.get(peer);
      if (flags & 0x10 && theirs !== undefined) put32(t + 8, (u32(t + 8) - theirs) >>> 0);
      if (sport >= 32768) b[t] = b[t + 1] = 0;
      if (dport >= 32768) b[t + 2] = b[t + 3] = 0;
      b[t + 16] = b[t + 17] = 0;
      const end = Math.min(b.length, t + (b[t + 12]! >> 4) * 4);
      for (let o = t + 20; o < end; ) {
        const kind = b[o]!;
        if (kind === 0) break;
        if (kind === 1) {
          o++;
          continue;
        }
        const len = b[o + 1] ?? 0;
        if (len < 2) break;
        if (kind === 8 && o + 10 <= end) b.fill(0, o + 2, o + 10); // TSval, TSecr
        o += len;
      }
    };
    const ipAt = (o: number): void => {
      if (b.length < o + 20) return;
      const ihl = (b[o]! & 15) * 4;
      const proto = b[o + 9];
      const t = o + ihl;
      if (proto === 6) tcpAt(o, t); // before the addresses' bytes are touched (they are not)
      b[o + 4] = b[o + 5] = 0; // IP ID
      b[o + 10] = b[o + 11] = 0; // header checksum (depends on the ID)
      if (proto === 17 && b.length >= t + 8) {
        const dport = (b[t + 2]! << 8) | b[t + 3]!;
        b[t] = b[t + 1] = 0; // source port (ephemeral, or the VXLAN flow hash)
        b[t + 6] = b[t + 7] = 0;
        if (dport === 8472 && b.length >= t + 16 + 14) ethAt(t + 16);
      } else if (proto === 1 && b.length >= t + 8) {
        b[t + 2] = b[t + 3] = 0;
        if (b[t] === 8 || b[t] === 0) {
          b[t + 4] = b[t + 5] = 0; // echo identifier
          b.fill(0, t + 8, Math.min(b.length, t + 24)); // ping's timestamp
        } else ipAt(t + 8);
      }
    };
    const ethAt = (o: number): void => {
      if (b[o + 12] === 8 && b[o + 13] === 0) ipAt(o + 14);
    };
    ethAt(0);
    return Buffer.from(b).toString('hex');
  };
}

/** Zeroes what differs by design in one frame (no TCP ISN state); answers hex. */
export function normalise(frame: Uint8Array): string {
  return normaliser()(frame);
}
