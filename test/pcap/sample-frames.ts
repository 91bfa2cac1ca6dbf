// The frames of the issue-3 acceptance capture, built only with the wire builders: one pod
// (pod-x, 10.42.4.15) on node 192.168.4.88 resolving its gateway, pinging a pod on node .86,
// asking CoreDNS, opening TCP to a Service with no endpoints (REJECT: ICMP port unreachable
// quoting the SYN), a full-size segment from the LAN, and the SYN to a real endpoint on .86
// leaving through flannel.1 and, encapsulated, eth0. Apart: the ICMP fragmentation-needed
// answer to that segment (MTU 1450), whose quote tshark cannot checksum.
import dnsPacket from 'dns-packet';
import {
  ARPOP_REPLY,
  ARPOP_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_PORT_UNREACH,
  MAC_ZERO,
  TCP_ACK,
  TCP_SYN,
  buildArpFrame,
  buildIcmpFrame,
  buildTcp,
  buildTcpFrame,
  buildUdpFrame,
  linuxEstablishedOptions,
  linuxIcmpErrorQuote,
  linuxSynOptions,
  parseIpv4,
  parseMac,
  pushEthernet,
  vxlanEncapsulate,
  type PacketBuffer,
} from '../../src/wire/index.js';
import type { Direction } from '../../src/pcap/index.js';

export const ETH0 = '192.168.4.88/root/eth0';
export const FLANNEL = '192.168.4.88/root/flannel.1';
export const POD_ETH0 = '192.168.4.88/pod-x/eth0';
export const CALI = '192.168.4.88/root/cali8d3b4c2e1f0';

export interface SampleFrame {
  iface: string;
  timeNs: number;
  bytes: Uint8Array;
  direction: Direction;
  comment: string;
  /** frame.protocols tshark should print (with -d udp.port==8472,vxlan). */
  protocols: string;
  /** Checksum statuses tshark should report, per protocol, outer first. */
  checksums: Record<string, number[]>;
}

const ip = parseIpv4;
const mac = parseMac;

const POD = ip('10.42.4.15');
const POD_MAC = mac('2e:6c:97:0f:41:5a');
const GW = ip('169.254.1.1'); // calico's gateway, answered by proxy ARP on the cali veth
const CALI_MAC = mac('ee:ee:ee:ee:ee:ee');
const REMOTE_POD = ip('10.42.0.134');
const NODE = ip('192.168.4.88');
const NODE_MAC = mac('7a:36:c7:54:f6:49');
const PEER = ip('192.168.4.86');
const PEER_MAC = mac('e6:d8:6c:c3:af:74');
const FLANNEL_MAC = mac('aa:aa:aa:00:00:04');
const PEER_FLANNEL_MAC = mac('aa:aa:aa:00:00:00');
const LAPTOP = ip('192.168.4.200');
const LAPTOP_MAC = mac('3c:22:fb:10:20:30');
const DNS = ip('10.43.0.10');
const NO_EP_SVC = ip('10.43.17.3');

const ping = Uint8Array.from({ length: 56 }, (_, i) => (i + 0x10) & 0xff); // iputils' pattern after the timeval

function bytes(p: PacketBuffer): Uint8Array {
  return p.data().slice();
}

export function sampleFrames(): SampleFrame[] {
  const out: SampleFrame[] = [];
  let t = 1_000_000;
  const add = (f: Omit<SampleFrame, 'timeNs'>) => {
    out.push({ ...f, timeNs: t });
    t += 137_913; // arbitrary, strictly increasing
  };

  add({
    iface: POD_ETH0,
    direction: 'out',
    comment: 'neigh: 169.254.1.1 INCOMPLETE, ARP request',
    bytes: bytes(buildArpFrame({ op: ARPOP_REQUEST, senderMac: POD_MAC, senderIp: POD, targetMac: MAC_ZERO, targetIp: GW })),
    protocols: 'eth:ethertype:arp',
    checksums: {},
  });
  add({
    iface: POD_ETH0,
    direction: 'in',
    comment: 'proxy ARP reply from cali8d3b4c2e1f0',
    bytes: bytes(buildArpFrame({ op: ARPOP_REPLY, senderMac: CALI_MAC, senderIp: GW, targetMac: POD_MAC, targetIp: POD })),
    protocols: 'eth:ethertype:arp',
    checksums: {},
  });

  const podEth = { src: POD_MAC, dst: CALI_MAC };
  const echo = { ident: 0x4d2f, seq: 1, data: ping };
  add({
    iface: POD_ETH0,
    direction: 'out',
    comment: 'ip_output: 10.42.4.15 > 10.42.0.134 via 169.254.1.1 dev eth0',
    bytes: bytes(buildIcmpFrame(podEth, { src: POD, dst: REMOTE_POD, ident: 0x9a11, dontFragment: true }, { kind: 'echo-request', ...echo })),
    protocols: 'eth:ethertype:ip:icmp:data',
    checksums: { ip: [1], icmp: [1] },
  });
  add({
    iface: FLANNEL,
    direction: 'out',
    comment: 'ip_forward: TTL 63, route 10.42.0.0/24 via 10.42.0.0 dev flannel.1 onlink',
    bytes: bytes(
      buildIcmpFrame({ src: FLANNEL_MAC, dst: PEER_FLANNEL_MAC }, { src: POD, dst: REMOTE_POD, ttl: 63, ident: 0x9a11, dontFragment: true }, { kind: 'echo-request', ...echo }),
    ),
    protocols: 'eth:ethertype:ip:icmp:data',
    checksums: { ip: [1], icmp: [1] },
  });
  add({
    iface: FLANNEL,
    direction: 'in',
    comment: 'vxlan_rcv: VNI 1 from 192.168.4.86',
    bytes: bytes(buildIcmpFrame({ src: PEER_FLANNEL_MAC, dst: FLANNEL_MAC }, { src: REMOTE_POD, dst: POD, ttl: 63, ident: 0x1c3e }, { kind: 'echo-reply', ...echo })),
    protocols: 'eth:ethertype:ip:icmp:data',
    checksums: { ip: [1], icmp: [1] },
  });
  add({
    iface: POD_ETH0,
    direction: 'in',
    comment: 'delivered: icmp echo reply',
    bytes: bytes(buildIcmpFrame({ src: CALI_MAC, dst: POD_MAC }, { src: REMOTE_POD, dst: POD, ttl: 62, ident: 0x1c3e }, { kind: 'echo-reply', ...echo })),
    protocols: 'eth:ethertype:ip:icmp:data',
    checksums: { ip: [1], icmp: [1] },
  });

  const query = new Uint8Array(
    dnsPacket.encode({
      type: 'query',
      id: 0x3b7a,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'backend-service.k8s.svc.cluster.local' }],
    }),
  );
  add({
    iface: POD_ETH0,
    direction: 'out',
    comment: 'udp_sendmsg: 10.42.4.15:48611 > 10.43.0.10:53',
    bytes: bytes(buildUdpFrame(podEth, { src: POD, dst: DNS, ident: 0x77e0, dontFragment: true }, { srcPort: 48611, dstPort: 53 }, query)),
    protocols: 'eth:ethertype:ip:udp:dns',
    checksums: { ip: [1], udp: [1] },
  });

  // A Linux SYN: MSS 1460, SACK_PERM, TS, NOP, WS 7 (20 option bytes).
  const synTcp = {
    srcPort: 51234,
    dstPort: 80,
    seq: 0x6a1b2c3d,
    ack: 0,
    flags: TCP_SYN,
    window: 64240,
    urgent: 0,
    options: linuxSynOptions({ mss: 1460, timestamps: { tsval: 2_934_512_003, tsecr: 0 }, windowScale: 7 }),
  };
  const synIp = { src: POD, dst: NO_EP_SVC, ident: 0x5e21, dontFragment: true };
  const syn = buildTcp(synIp, synTcp);
  const synL3 = syn.data().slice();
  add({
    iface: POD_ETH0,
    direction: 'out',
    comment: 'tcp_connect: SYN to 10.43.17.3:80',
    bytes: bytes(pushEthernet(syn, podEth)),
    protocols: 'eth:ethertype:ip:tcp',
    checksums: { ip: [1], tcp: [1] },
  });
  const rejectQuote = linuxIcmpErrorQuote(synL3);
  if (rejectQuote === null) throw new Error('no quote');
  add({
    iface: POD_ETH0,
    direction: 'in',
    comment: 'filter:KUBE-SERVICES:rule:1 REJECT (service has no endpoints)',
    bytes: bytes(
      buildIcmpFrame({ src: CALI_MAC, dst: POD_MAC }, { src: NO_EP_SVC, dst: POD, ident: 0 }, { kind: 'dest-unreachable', code: ICMP_PORT_UNREACH, nextHopMtu: 0, quote: rejectQuote }),
    ),
    protocols: 'eth:ethertype:ip:icmp:ip:tcp',
    checksums: { ip: [1, 1], icmp: [1], tcp: [1] },
  });

  const big = bigSegment();
  add({
    iface: ETH0,
    direction: 'in',
    comment: 'ip_rcv: 1500 bytes, DF',
    bytes: bytes(pushEthernet(big, { src: LAPTOP_MAC, dst: NODE_MAC })),
    protocols: 'eth:ethertype:ip:tcp',
    checksums: { ip: [1], tcp: [1] },
  });
  // The SYN to a real endpoint, DNATed to 10.42.0.134:18888, out flannel.1 and then eth0.
  const inner = () =>
    pushEthernet(
      buildTcp({ src: POD, dst: REMOTE_POD, ttl: 63, ident: 0x5e22, dontFragment: true }, { ...synTcp, srcPort: 51236, dstPort: 18888, seq: 0x11223344 }),
      { src: FLANNEL_MAC, dst: PEER_FLANNEL_MAC },
    );
  add({
    iface: FLANNEL,
    direction: 'out',
    comment: 'nat:KUBE-SEP-XQ6W2TQDEUM4UP5K:rule:2 DNAT to 10.42.0.134:18888',
    bytes: bytes(inner()),
    protocols: 'eth:ethertype:ip:tcp',
    checksums: { ip: [1], tcp: [1] },
  });
  add({
    iface: ETH0,
    direction: 'out',
    comment: 'vxlan_xmit: VNI 1, fdb aa:aa:aa:00:00:00 dst 192.168.4.86',
    bytes: bytes(
      vxlanEncapsulate(inner(), { eth: { src: NODE_MAC, dst: PEER_MAC }, ip: { src: NODE, dst: PEER, ident: 0x737b }, srcPort: 52971, vni: 1 }),
    ),
    protocols: 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp',
    checksums: { ip: [1, 1], udp: [1], tcp: [1] },
  });
  add({
    iface: CALI,
    direction: 'in',
    comment: 'bridge-less veth peer: same SYN seen on the host side',
    bytes: out.find((f) => f.comment.startsWith('tcp_connect'))!.bytes,
    protocols: 'eth:ethertype:ip:tcp',
    checksums: { ip: [1], tcp: [1] },
  });
  return out;
}

/** A 1500-byte DF segment from the LAN to a pod: too big for flannel.1 (MTU 1450). */
function bigSegment(): PacketBuffer {
  return buildTcp(
    { src: LAPTOP, dst: REMOTE_POD, ident: 0x2210, dontFragment: true },
    {
      srcPort: 33000,
      dstPort: 8080,
      seq: 1000,
      ack: 2000,
      flags: TCP_ACK,
      window: 502,
      urgent: 0,
      options: linuxEstablishedOptions({ timestamps: { tsval: 1, tsecr: 2 } }),
    },
    new Uint8Array(1500 - 20 - 32).fill(0x41),
  );
}

/**
 * What 192.168.4.88 answers to that segment: ICMP fragmentation needed, next-hop MTU 1450,
 * quoting the first 548 bytes of it as Linux does (590-byte frame). The quoted TCP is cut
 * short, so tshark 4.0 checksums a partial segment and calls it Bad; a real kernel's frame
 * gets the same verdict (test/fixtures/pcap/kernel-frag-needed-tcp.pcap).
 */
export function fragNeededFrame(): Omit<SampleFrame, 'checksums'> {
  const quote = linuxIcmpErrorQuote(bigSegment().data());
  if (quote === null) throw new Error('no quote');
  return {
    iface: ETH0,
    timeNs: 5_000_000,
    direction: 'out',
    comment: 'ip_forward: packet too big for flannel.1 (mtu 1450), ICMP frag needed',
    bytes: bytes(
      buildIcmpFrame({ src: NODE_MAC, dst: LAPTOP_MAC }, { src: NODE, dst: LAPTOP, ident: 0x0b0c }, { kind: 'dest-unreachable', code: ICMP_FRAG_NEEDED, nextHopMtu: 1450, quote }),
    ),
    protocols: 'eth:ethertype:ip:icmp:ip:tcp',
  };
}
