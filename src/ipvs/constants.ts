/**
 * IPVS constants as the kernel defines them (uapi linux/ip_vs.h, include/net/ip_vs.h), so
 * flags read the same as in the kernel source and in ipvsadm.
 */

export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export type IpvsProtocol = typeof IPPROTO_TCP | typeof IPPROTO_UDP | typeof IPPROTO_SCTP;

/** Address families as Linux numbers them; only AF_INET is modelled, AF_INET6 sorts after it. */
export const AF_INET = 2;

/** Virtual service flags (IP_VS_SVC_F_*). */
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
export const IP_VS_SVC_F_HASHED = 0x0002;
export const IP_VS_SVC_F_ONEPACKET = 0x0004;
export const IP_VS_SVC_F_SCHED1 = 0x0008;
export const IP_VS_SVC_F_SCHED2 = 0x0010;
export const IP_VS_SVC_F_SCHED3 = 0x0020;
export const IP_VS_SVC_F_SCHED_SH_FALLBACK = IP_VS_SVC_F_SCHED1;
export const IP_VS_SVC_F_SCHED_SH_PORT = IP_VS_SVC_F_SCHED2;
export const IP_VS_SVC_F_SCHED_MH_FALLBACK = IP_VS_SVC_F_SCHED1;
export const IP_VS_SVC_F_SCHED_MH_PORT = IP_VS_SVC_F_SCHED2;
export const IP_VS_SVC_F_SCHED_MASK = IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_SCHED3;

/** Destination flags (IP_VS_DEST_F_*). */
export const IP_VS_DEST_F_AVAILABLE = 0x0001;
export const IP_VS_DEST_F_OVERLOAD = 0x0002;

/** Connection flags (IP_VS_CONN_F_*); the low 3 bits are the forwarding method. */
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_LOCALNODE = 0x0001;
export const IP_VS_CONN_F_TUNNEL = 0x0002;
export const IP_VS_CONN_F_DROUTE = 0x0003;
export const IP_VS_CONN_F_BYPASS = 0x0004;
export const IP_VS_CONN_F_HASHED = 0x0040;
export const IP_VS_CONN_F_NOOUTPUT = 0x0080;
export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_NO_CPORT = 0x0800;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;
/** Kernel-internal: the entry keeps its conntrack (net.ipv4.vs.conntrack=1). */
export const IP_VS_CONN_F_NFCT = 1 << 16;

/** Template state bit: a controlled connection reached ESTABLISHED (IP_VS_CTPL_S_ASSURED). */
export const IP_VS_CTPL_S_ASSURED = 0x0001;

/** Forwarding method names as ipvsadm prints them (fwd_name) and the -S switches (fwd_switch). */
export type FwdMethod = 'Masq' | 'Local' | 'Tunnel' | 'Route';
export function fwdName(connFlags: number): FwdMethod {
  switch (connFlags & IP_VS_CONN_F_FWD_MASK) {
    case IP_VS_CONN_F_LOCALNODE:
      return 'Local';
    case IP_VS_CONN_F_TUNNEL:
      return 'Tunnel';
    case IP_VS_CONN_F_DROUTE:
      return 'Route';
    default:
      return 'Masq';
  }
}

/** Persistence default when `-p` has no value (IPVS_SVC_PERSISTENT_TIMEOUT). */
export const IPVS_SVC_PERSISTENT_TIMEOUT = 300;
/** Connection hash table size reported by `ipvsadm -L` (CONFIG_IP_VS_TAB_BITS 12). */
export const IP_VS_CONN_TAB_SIZE = 4096;
/** IP_VS_VERSION_CODE 0x010201 as ipvsadm prints it. */
export const IP_VS_VERSION = '1.2.1';
/** The FTP control port: IPVS gives it special persistence and scheduling rules. */
export const FTPPORT = 21;
export const FTPDATA = 20;

export function protocolName(p: number): string {
  switch (p) {
    case IPPROTO_TCP:
      return 'TCP';
    case IPPROTO_UDP:
      return 'UDP';
    case IPPROTO_SCTP:
      return 'SCTP';
    case IPPROTO_IP:
      return 'IP';
    default:
      return `IP_${p}`;
  }
}

export const NS_PER_S = 1_000_000_000;
