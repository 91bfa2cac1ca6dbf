/**
 * Splits one iptables-restore line into arguments the way iptables-restore's
 * add_param_to_argv does: blanks separate, a double quote opens and closes a quoted part
 * (blanks kept), and inside quotes a backslash takes the next character literally.
 * Single quotes are ordinary characters (the real tool fails on `'a b'`), and an
 * unterminated quote runs to the end of the line (the real tool accepts it).
 */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let have = false;
  let quoted = false;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (escaped) {
        cur += c;
        escaped = false;
      } else if (c === '\\') {
        escaped = true;
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      have = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (have) {
        out.push(cur);
        cur = '';
        have = false;
      }
      continue;
    }
    cur += c;
    have = true;
  }
  if (have) out.push(cur);
  return out;
}

const NO_QUOTE = /^[_\-0-9a-zA-Z]+$/;

/**
 * Prints a string argument as iptables' xtables_save_string: bare when it is only
 * `[_-0-9a-zA-Z]`, else in double quotes with `"`, `\` and `'` escaped by a backslash.
 * Answers the text with its leading space.
 */
export function saveString(v: string): string {
  if (NO_QUOTE.test(v)) return ` ${v}`;
  let s = ' "';
  for (const c of v) s += c === '"' || c === '\\' || c === "'" ? `\\${c}` : c;
  return `${s}"`;
}
