/**
 * A control operation the kernel refuses, with its errno name and the text ipvsadm prints
 * for it (libipvs ipvs_strerror), e.g. `EEXIST` / "Service already exists".
 */
export class IpvsError extends Error {
  override readonly name = 'IpvsError';
  constructor(
    readonly errno: 'EEXIST' | 'ESRCH' | 'ENOENT' | 'EINVAL',
    message: string,
  ) {
    super(message);
  }
}
