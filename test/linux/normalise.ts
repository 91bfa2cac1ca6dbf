// Normalising captured frames for comparison with the kernel: zero what differs by design
// (IP IDs and the checksums they feed, ICMP echo ids and ping timestamps, UDP source ports and
// checksums, the VXLAN source port), recursing into VXLAN inner frames and ICMP error quotes.
/** Zeroes what differs by design; answers hex. */
export function normalise(frame: Uint8Array): string {
  const b = frame.slice();
  const ipAt = (o: number): void => {
    if (b.length < o + 20) return;
    const ihl = (b[o]! & 15) * 4;
    b[o + 4] = b[o + 5] = 0; // IP ID
    b[o + 10] = b[o + 11] = 0; // header checksum (depends on the ID)
    const proto = b[o + 9];
    const t = o + ihl;
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
}

