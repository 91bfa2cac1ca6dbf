/** Where in a scenario file something is: 1-based line and column, as editors count. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function formatPos(p: SourcePos): string {
  return `${p.file}:${p.line}:${p.col}`;
}

/** One problem found in a scenario; `error`s stop the load, `warning`s are reported. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly pos: SourcePos;
  readonly message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatPos(d.pos)}: ${d.severity}: ${d.message}`;
}

/** A scenario that cannot be loaded; carries every error found (the CLI exits 2). */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
  }
}
