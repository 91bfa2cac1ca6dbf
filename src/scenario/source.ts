import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { ScenarioError, type Diagnostic, type SourcePos } from './error.js';

/** Limits against hostile files: they bound memory and time before any object is built. */
export const LIMITS = {
  fileBytes: 32 * 1024 * 1024,
  files: 1000,
  documents: 200_000,
  /** yaml's alias expansion cap (an alias bomb expands to billions of nodes otherwise). */
  aliases: 1000,
  replicas: 10_000,
  nodes: 10_000,
} as const;

/** One parsed YAML document with what is needed to name positions inside it. */
export interface SourceDoc {
  readonly file: string;
  readonly index: number;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  /** The document as plain data (aliases expanded within LIMITS.aliases). */
  readonly value: unknown;
}

export function posAt(file: string, lines: LineCounter, offset: number): SourcePos {
  const { line, col } = lines.linePos(offset);
  return { file, line, col };
}

/** Parses one YAML text (possibly several documents). Syntax errors become diagnostics. */
export function parseYamlText(file: string, text: string): SourceDoc[] {
  const fail = (offset: number, message: string): never => {
    const lines = new LineCounter();
    parseAllDocuments(text, { lineCounter: lines });
    throw new ScenarioError([{ severity: 'error', pos: posAt(file, lines, offset), message }]);
  };
  if (text.length > LIMITS.fileBytes) fail(0, `file is larger than ${LIMITS.fileBytes} bytes`);
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  if (docs.length > LIMITS.documents) fail(0, `more than ${LIMITS.documents} documents`);
  const diags: Diagnostic[] = [];
  const out: SourceDoc[] = [];
  docs.forEach((doc, index) => {
    for (const e of doc.errors) {
      diags.push({ severity: 'error', pos: posAt(file, lines, e.pos[0]), message: firstLine(e.message) });
    }
    if (doc.errors.length) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: LIMITS.aliases });
    } catch (e) {
      diags.push({ severity: 'error', pos: posAt(file, lines, doc.range[0]), message: firstLine(String((e as Error).message)) });
      return;
    }
    if (value === null || value === undefined) return; // empty document (a stray ---)
    out.push({ file, index, doc, lines, value });
  });
  if (diags.length) throw new ScenarioError(diags);
  return out;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** Reads a scenario path: one file, or every .yaml/.yml file of a folder in name order. */
export function readScenarioPath(path: string): SourceDoc[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new ScenarioError([{ severity: 'error', pos: { file: path, line: 1, col: 1 }, message: 'no such file or directory' }]);
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length > LIMITS.files) {
    throw new ScenarioError([{ severity: 'error', pos: { file: path, line: 1, col: 1 }, message: `more than ${LIMITS.files} files` }]);
  }
  if (files.length === 0) {
    throw new ScenarioError([{ severity: 'error', pos: { file: path, line: 1, col: 1 }, message: 'folder holds no .yaml file' }]);
  }
  const docs: SourceDoc[] = [];
  for (const f of files) {
    const size = statSync(f).size;
    if (size > LIMITS.fileBytes) {
      throw new ScenarioError([{ severity: 'error', pos: { file: f, line: 1, col: 1 }, message: `file is larger than ${LIMITS.fileBytes} bytes` }]);
    }
    docs.push(...parseYamlText(f, readFileSync(f, 'utf8')));
  }
  return docs;
}
