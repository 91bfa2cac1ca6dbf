/**
 * errno values the socket API reports, and the kernel's mapping of ICMP destination
 * unreachable codes to them (icmp_err_convert in net/ipv4/icmp.c: errno and whether the
 * error is "fatal", i.e. hard).
 */
export type Errno =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EINVAL'
  | 'EISCONN'
  | 'ENOTCONN'
  | 'EPIPE'
  | 'EMSGSIZE'
  | 'EACCES'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'ENETUNREACH'
  | 'EHOSTUNREACH'
  | 'EHOSTDOWN'
  | 'ENONET'
  | 'ENOPROTOOPT'
  | 'EOPNOTSUPP'
  | 'EPROTO'
  | 'EAGAIN';

/** What socket calls throw: `errno` is what the real call would set. */
export class SocketError extends Error {
  override readonly name = 'SocketError';
  constructor(
    readonly errno: Errno,
    detail: string,
  ) {
    super(`${errno}: ${detail}`);
  }
}

/** icmp_err_convert[code] for ICMP_DEST_UNREACH codes 0..15. */
export const ICMP_UNREACH_ERRNO: ReadonlyArray<{ errno: Errno; fatal: boolean }> = [
  { errno: 'ENETUNREACH', fatal: false }, // NET_UNREACH
  { errno: 'EHOSTUNREACH', fatal: false }, // HOST_UNREACH
  { errno: 'ENOPROTOOPT', fatal: true }, // PROT_UNREACH
  { errno: 'ECONNREFUSED', fatal: true }, // PORT_UNREACH
  { errno: 'EMSGSIZE', fatal: false }, // FRAG_NEEDED
  { errno: 'EOPNOTSUPP', fatal: false }, // SR_FAILED
  { errno: 'ENETUNREACH', fatal: true }, // NET_UNKNOWN
  { errno: 'EHOSTDOWN', fatal: true }, // HOST_UNKNOWN
  { errno: 'ENONET', fatal: true }, // HOST_ISOLATED
  { errno: 'ENETUNREACH', fatal: true }, // NET_ANO
  { errno: 'EHOSTUNREACH', fatal: true }, // HOST_ANO
  { errno: 'ENETUNREACH', fatal: false }, // NET_UNR_TOS
  { errno: 'EHOSTUNREACH', fatal: false }, // HOST_UNR_TOS
  { errno: 'EHOSTUNREACH', fatal: true }, // PKT_FILTERED
  { errno: 'EHOSTUNREACH', fatal: true }, // PREC_VIOLATION
  { errno: 'EHOSTUNREACH', fatal: true }, // PREC_CUTOFF
];

/** The errno and hardness of an ICMP error (type 3 by code; type 11 is EHOSTUNREACH, soft). */
export function icmpErrno(type: number, code: number): { errno: Errno; fatal: boolean } | null {
  if (type === 3) return ICMP_UNREACH_ERRNO[code] ?? null;
  if (type === 11) return { errno: 'EHOSTUNREACH', fatal: false };
  if (type === 12) return { errno: 'EPROTO', fatal: true };
  return null;
}
