/**
 * Splits one iptables-restore line into arguments the way iptables-restore's
 * add_param_to_argv does: blanks separate, a double quote opens and closes a quoted part
 * (blanks kept), and inside quotes a backslash takes the next character literally.
 * Single quotes are ordinary characters (the real tool fails on `'a b'`), and an
 * unterminated quote runs to the end of the line (the real tool accepts it).
 */
export function splitArgs(line: string, from = 0): string[] {
  // Tokens are slices of the line (no per-character building); a token with quotes is put
  // together from the slices between them.
  const out: string[] = [];
  const n = line.length;
  let i = from;
  while (i < n) {
    let c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    while (i < n) {
      c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 34) break;
      i++;
    }
    if (i >= n || c !== 34) {
      out.push(line.slice(start, i));
      continue;
    }
    let cur = line.slice(start, i);
    let quoted = false;
    while (i < n) {
      c = line.charCodeAt(i);
      if (quoted) {
        if (c === 92) {
          // A backslash takes the next character literally (a trailing one is dropped).
          if (i + 1 < n) cur += line[i + 1]!;
          i += 2;
          continue;
        }
        if (c === 34) {
          quoted = false;
          i++;
          continue;
        }
        let j = i + 1;
        while (j < n) {
          const d = line.charCodeAt(j);
          if (d === 92 || d === 34) break;
          j++;
        }
        cur += line.slice(i, j);
        i = j;
        continue;
      }
      if (c === 34) {
        quoted = true;
        i++;
        continue;
      }
      if (c === 32 || c === 9 || c === 10 || c === 13) break;
      let j = i + 1;
      while (j < n) {
        const d = line.charCodeAt(j);
        if (d === 32 || d === 9 || d === 10 || d === 13 || d === 34) break;
        j++;
      }
      cur += line.slice(i, j);
      i = j;
    }
    out.push(cur);
  }
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
