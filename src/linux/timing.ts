/** Simulated per-hop latencies in ns (a veth hand-off, loopback, a wire segment): small and fixed so runs are deterministic and pcap timestamps ordered. */
export const DELAY = { veth: 1_000, loopback: 1_000, wire: 5_000 } as const;
