/** Errors the API throws, with the message the real tool prints. */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
}

/** A sysctl write or read that the real `sysctl` would refuse. */
export class SysctlError extends Error {
  override readonly name = 'SysctlError';
}
