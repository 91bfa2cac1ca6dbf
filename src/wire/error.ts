/**
 * The one error a wire parser may throw: truncated or inconsistent bytes.
 * `field` names the header field that could not be read or did not check out,
 * e.g. `ipv4.total_length`, so a user can see which byte was wrong.
 */
export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * The range a view is asked to cover must lie inside `bytes`, so that no accessor reads past
 * the end (`<header>.length` otherwise).
 */
export function checkRange(header: string, bytes: Uint8Array, offset: number, length: number): void {
  if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length)) {
    throw new WireError(`${header}.length`, `bytes [${offset}, ${offset + length}) are not within the ${bytes.length} present`);
  }
}

/** Error for a textual address or prefix that does not parse; carries the input. */
export class AddressParseError extends Error {
  override readonly name = 'AddressParseError';
  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid address "${input}": ${reason}`);
  }
}
