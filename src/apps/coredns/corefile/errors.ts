/**
 * A Corefile that cannot be loaded. The message is CoreDNS's own: the Caddy dispenser's
 * `Corefile:3 - Error during parsing: ...` / `Corefile:3 - Syntax error: ...`, prefixed by
 * `plugin/<name>: ` when a plugin's setup rejected its arguments (`plugin.Error`).
 */
export class CorefileError extends Error {
  override readonly name = 'CorefileError';
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly plugin?: string,
  ) {
    super(plugin ? `plugin/${plugin}: ${message}` : message);
  }
}
