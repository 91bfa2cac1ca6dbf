/**
 * The Caddyfile lexer CoreDNS uses (coredns/caddy `caddyfile/lexer.go`): tokens are split
 * on white space; `"..."` quotes a token (with `\"` inside) and may span lines; `#` starts a
 * comment to the end of the line, even in the middle of a word; `{` and `}` are tokens only
 * when they stand alone. Each token remembers the file and the line where it started.
 */
export interface Token {
  readonly file: string;
  readonly line: number;
  text: string;
  /** The token was quoted: `"{"` is an argument, never a brace. */
  readonly quoted: boolean;
}

export function lex(file: string, input: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let val = '';
  let startLine = 1;
  let quoted = false;
  let wasQuoted = false;
  let comment = false;
  let escaped = false;
  const flush = (): void => {
    if (val.length > 0 || wasQuoted) out.push({ file, line: startLine, text: val, quoted: wasQuoted });
    val = '';
    wasQuoted = false;
  };
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (quoted) {
      if (!escaped) {
        if (ch === '\\') {
          escaped = true;
          continue;
        }
        if (ch === '"') {
          quoted = false;
          flush();
          continue;
        }
      }
      if (ch === '\n') line++;
      if (escaped && ch !== '"') val += '\\';
      escaped = false;
      val += ch;
      continue;
    }
    if (ch === '\r') continue;
    if (/\s/.test(ch)) {
      if (ch === '\n') {
        comment = false;
      }
      flush();
      if (ch === '\n') line++;
      continue;
    }
    if (ch === '#') comment = true;
    if (comment) continue;
    if (val.length === 0) {
      startLine = line;
      if (ch === '"') {
        quoted = true;
        wasQuoted = true;
        continue;
      }
    }
    val += ch;
  }
  flush();
  return out;
}
