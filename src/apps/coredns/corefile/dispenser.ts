import { CorefileError } from './errors.js';
import type { Token } from './lexer.js';

/**
 * What a plugin's setup reads its arguments through: the Caddy dispenser
 * (`caddyfile/dispenser.go`) over the tokens of one directive use. The error helpers build
 * the same messages as the dispenser (`ArgErr`, `Err`, `Errf`), naming the current line.
 */
export class Dispenser {
  private cursor = -1;
  private nesting = 0;
  constructor(
    private readonly tokens: readonly Token[],
    readonly plugin: string,
    private readonly filename: string,
  ) {}

  next(): boolean {
    if (this.cursor < this.tokens.length - 1) {
      this.cursor++;
      return true;
    }
    return false;
  }

  /** Loads the next token only if it is on the same line. */
  nextArg(): boolean {
    if (this.cursor < 0 || this.cursor >= this.tokens.length - 1) return false;
    const cur = this.tokens[this.cursor]!;
    const nxt = this.tokens[this.cursor + 1]!;
    let span = 0;
    for (const c of cur.text) if (c === '\n') span++;
    if (cur.file === nxt.file && cur.line + span === nxt.line) {
      this.cursor++;
      return true;
    }
    return false;
  }

  /** Steps into a `{ }` block line by line; false at its end (or when there is none). */
  nextBlock(): boolean {
    if (this.nesting > 0) {
      this.next();
      if (this.isBrace('}')) {
        this.nesting--;
        return false;
      }
      return true;
    }
    if (!this.nextArg()) return false;
    if (!this.isBrace('{')) {
      this.cursor--;
      return false;
    }
    this.next();
    if (this.isBrace('}')) return false;
    this.nesting++;
    return true;
  }

  val(): string {
    return this.tokens[this.cursor]?.text ?? '';
  }

  line(): number {
    return this.tokens[Math.max(0, this.cursor)]?.line ?? 0;
  }

  remainingArgs(): string[] {
    const args: string[] = [];
    while (this.nextArg()) {
      if (this.isBrace('{')) {
        this.cursor--;
        break;
      }
      args.push(this.val());
    }
    return args;
  }

  private isBrace(c: string): boolean {
    const t = this.tokens[this.cursor];
    return t !== undefined && !t.quoted && t.text === c;
  }

  err(msg: string): CorefileError {
    const t = this.tokens[Math.max(0, this.cursor)];
    const file = t?.file ?? this.filename;
    const line = t?.line ?? 0;
    return new CorefileError(`${file}:${line} - Error during parsing: ${msg}`, file, line, this.plugin);
  }

  argErr(): CorefileError {
    if (this.isBrace('{')) return this.err("Unexpected token '{', expecting argument");
    return this.err(`Wrong argument count or unexpected line ending after '${this.val()}'`);
  }

  /** A plain error with the plugin prefix but no position, as `plugin.Error(name, err)`. */
  plain(msg: string): CorefileError {
    const t = this.tokens[Math.max(0, this.cursor)];
    return new CorefileError(msg, t?.file ?? this.filename, t?.line ?? 0, this.plugin);
  }
}
