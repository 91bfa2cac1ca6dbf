// The wire layer's public surface: one module per header, checksums, builders, NAT, buffers.
export * from './error.js';
export * from './ipv4-address.js';
export * from './mac-address.js';
export * from './packet-buffer.js';
export * from './checksum.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './vxlan.js';
export * from './build.js';
export * from './nat.js';
export * from './fragment.js';
