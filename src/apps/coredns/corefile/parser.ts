import { CorefileError } from './errors.js';
import { lex, type Token } from './lexer.js';

/** One use of a directive in a server block: its tokens, the directive name first. */
export interface DirectiveUse {
  readonly name: string;
  readonly tokens: Token[];
}

export interface ServerBlock {
  /** Keys as written, e.g. `.:53`, `cluster.local:53`, `dns://.:1053`. */
  readonly keys: string[];
  readonly line: number;
  /** Directive uses in Corefile order (execution order comes from PLUGIN_CFG, not this). */
  readonly directives: DirectiveUse[];
}

export interface ParseOptions {
  /** File name used in messages, as CoreDNS prints the `-conf` path. Default `Corefile`. */
  filename?: string;
  /** Files `import` may read, by absolute path (ConfigMap keys mounted in the pod). */
  files?: Readonly<Record<string, string>>;
  /** Environment for `{$NAME}` / `{%NAME%}`; unset names become empty, as os.Getenv. */
  env?: Readonly<Record<string, string>>;
  /** Valid directive names; anything else is `Unknown directive`. */
  validDirectives: ReadonlySet<string>;
}

const MAX_EXPANSIONS = 1000;

/**
 * The Caddyfile parser as CoreDNS runs it (coredns/caddy `caddyfile/parse.go`): addresses,
 * then a `{ }` block of directives (one per line, each with an optional nested block);
 * snippets `(name) { }`; `import` of a snippet or of files (one `*` glob allowed); error
 * messages and the line they name match the real parser's.
 */
export function parseCorefile(input: string, opts: ParseOptions): ServerBlock[] {
  const p = new Parser(opts);
  p.tokens = lex(p.filename, input);
  return p.parseAll();
}

class Parser {
  readonly filename: string;
  tokens: Token[] = [];
  cursor = -1;
  private snippets = new Map<string, Token[]>();
  private expansions = 0;
  constructor(private readonly opts: ParseOptions) {
    this.filename = opts.filename ?? 'Corefile';
  }

  // --- dispenser primitives (caddyfile/dispenser.go) ---
  private next(): boolean {
    if (this.cursor < this.tokens.length - 1) {
      this.cursor++;
      return true;
    }
    return false;
  }
  private val(): string {
    return this.tokens[this.cursor]?.text ?? '';
  }
  private tok(): Token | undefined {
    return this.tokens[this.cursor];
  }
  private isBrace(c: '{' | '}'): boolean {
    const t = this.tok();
    return t !== undefined && !t.quoted && t.text === c;
  }
  private isNewLine(): boolean {
    if (this.cursor < 1) return true;
    const prev = this.tokens[this.cursor - 1]!;
    const cur = this.tokens[this.cursor]!;
    return prev.file !== cur.file || prev.line + lineSpan(prev) < cur.line;
  }
  private nextArg(): boolean {
    if (this.cursor < 0) {
      return false;
    }
    if (this.cursor >= this.tokens.length - 1) return false;
    const cur = this.tokens[this.cursor]!;
    const nxt = this.tokens[this.cursor + 1]!;
    if (cur.file === nxt.file && cur.line + lineSpan(cur) === nxt.line) {
      this.cursor++;
      return true;
    }
    return false;
  }
  private line(): number {
    return this.tok()?.line ?? this.tokens[this.tokens.length - 1]?.line ?? 1;
  }
  private file(): string {
    return this.tok()?.file ?? this.filename;
  }
  err(msg: string): CorefileError {
    return new CorefileError(`${this.file()}:${this.line()} - Error during parsing: ${msg}`, this.file(), this.line());
  }
  private syntaxErr(expected: string): CorefileError {
    return new CorefileError(
      `${this.file()}:${this.line()} - Syntax error: Unexpected token '${this.val()}', expecting '${expected}'`,
      this.file(),
      this.line(),
    );
  }
  private argErr(): CorefileError {
    if (this.isBrace('{')) return this.err("Unexpected token '{', expecting argument");
    return this.err(`Wrong argument count or unexpected line ending after '${this.val()}'`);
  }

  parseAll(): ServerBlock[] {
    const blocks: ServerBlock[] = [];
    while (this.next()) {
      const b = this.parseOne();
      if (b && b.keys.length > 0) blocks.push(b);
    }
    return blocks;
  }

  private parseOne(): ServerBlock | null {
    const keys: string[] = [];
    const line = this.line();
    const eof = this.addresses(keys);
    if (eof) return { keys, line, directives: [] };
    if (keys.length === 1 && keys[0]!.startsWith('(') && keys[0]!.endsWith(')')) {
      const name = keys[0]!.slice(1, -1);
      if (this.snippets.has(name)) throw this.err(`redeclaration of previously declared snippet ${name}`);
      this.snippets.set(name, this.snippetTokens());
      return null;
    }
    const directives: DirectiveUse[] = [];
    const open = this.isBrace('{');
    if (!open) this.cursor--; // single-server configs need no braces
    this.directives(directives);
    if (open && !this.isBrace('}')) throw this.syntaxErr('}');
    return { keys, line, directives };
  }

  /** Reads the key line; answers true at EOF (a file of only addresses). */
  private addresses(keys: string[]): boolean {
    let expectingAnother = false;
    for (;;) {
      const tkn = this.env(this.val());
      if (tkn === 'import' && this.isNewLine()) {
        this.doImport();
        continue;
      }
      if (tkn === '{' && !this.tok()!.quoted) {
        if (expectingAnother) throw this.err(`Expected another address but had '${tkn}' - check for extra comma`);
        return false;
      }
      if (tkn !== '') {
        if (tkn.endsWith(',')) {
          keys.push(tkn.slice(0, -1));
          expectingAnother = true;
        } else {
          keys.push(tkn);
          expectingAnother = false;
        }
      }
      const has = this.next();
      if (expectingAnother && !has) throw this.err('Unexpected EOF');
      if (!has) return true;
      if (!expectingAnother && this.isNewLine()) return false;
    }
  }

  private directives(out: DirectiveUse[]): void {
    while (this.next()) {
      if (this.isBrace('}')) return;
      if (this.val() === 'import') {
        this.doImport();
        this.cursor--;
        continue;
      }
      this.directive(out);
    }
  }

  private directive(out: DirectiveUse[]): void {
    const dir = this.env(this.val());
    if (!this.opts.validDirectives.has(dir)) throw this.err(`Unknown directive '${dir}'`);
    const use: DirectiveUse = { name: dir, tokens: [{ ...this.tok()!, text: dir }] };
    out.push(use);
    let nesting = 0;
    while (this.next()) {
      if (this.isBrace('{')) nesting++;
      else if (this.isNewLine() && nesting === 0) {
        this.cursor--;
        break;
      } else if (this.isBrace('}') && nesting > 0) nesting--;
      else if (this.isBrace('}') && nesting === 0) throw this.err("Unexpected '}' because no matching opening brace");
      else if (this.val() === 'import' && this.isNewLine()) {
        this.doImport();
        this.cursor--;
        continue;
      }
      const t = this.tok()!;
      use.tokens.push({ ...t, text: this.env(t.text) });
    }
    if (nesting > 0) throw this.err('Unexpected EOF');
  }

  private snippetTokens(): Token[] {
    if (!this.isBrace('{')) throw this.syntaxErr('{');
    let count = 1;
    const toks: Token[] = [];
    while (this.next()) {
      if (this.isBrace('}')) {
        count--;
        if (count === 0) break;
      }
      if (this.isBrace('{')) count++;
      toks.push(this.tok()!);
    }
    if (count !== 0) throw this.syntaxErr('}');
    return toks;
  }

  /** Splices the tokens of a snippet or of the imported files in place of `import ARG`. */
  private doImport(): void {
    if (!this.nextArg()) throw this.argErr();
    const pattern = this.env(this.val());
    if (pattern === '') throw this.err('Import requires a non-empty filepath');
    if (this.nextArg()) throw this.err('Import takes only one argument (glob pattern or file)');
    const before = this.tokens.slice(0, this.cursor - 1);
    const after = this.tokens.slice(this.cursor + 1);
    let imported: Token[] = [];
    const snippet = this.snippets.get(pattern);
    if (++this.expansions > MAX_EXPANSIONS) throw this.err(`maximum snippet import depth (${MAX_EXPANSIONS}) exceeded`);
    if (snippet) imported = snippet;
    else {
      const files = this.opts.files ?? {};
      const abs = pattern.startsWith('/') ? pattern : joinPath(dirName(this.file()), pattern);
      const stars = (abs.match(/\*/g) ?? []).length;
      if (stars > 1 || (abs.match(/\?/g) ?? []).length > 1 || (abs.includes('[') && abs.includes(']'))) {
        throw this.err(`Glob pattern may only contain one wildcard (*), but has others: ${abs}`);
      }
      let matches: string[];
      if (stars === 1 || abs.includes('?')) {
        const re = new RegExp(`^${abs.replace(/[.+^${}()|\\]/g, '\\$&').replace('*', '[^/]*').replace('?', '[^/]')}$`);
        matches = Object.keys(files).filter((f) => re.test(f)).sort();
      } else {
        matches = files[abs] !== undefined ? [abs] : [];
        if (matches.length === 0) throw this.err(`File to import not found: ${pattern}`);
      }
      for (const f of matches) imported = imported.concat(lex(f, files[f]!));
    }
    this.tokens = [...before, ...imported, ...after];
    this.cursor -= 1;
  }

  private env(s: string): string {
    const env = this.opts.env ?? {};
    return s.replace(/\{\$([^}]+)\}/g, (_m, n: string) => env[n] ?? '').replace(/\{%([^%]+)%\}/g, (_m, n: string) => env[n] ?? '');
  }
}

/** Lines a (quoted) token spans beyond its first, so NextArg sees the right neighbour line. */
function lineSpan(t: Token): number {
  let n = 0;
  for (const c of t.text) if (c === '\n') n++;
  return n;
}

function dirName(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
function joinPath(dir: string, rel: string): string {
  return `${dir.endsWith('/') ? dir : `${dir}/`}${rel}`;
}
