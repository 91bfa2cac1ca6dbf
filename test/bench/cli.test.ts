// `kubewire bench --json --chart`: the JSON array has the fields issue 10 lists for every mode
// and size, the chart is well-formed SVG with one panel per figure, bad flags are input errors.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchCommand, parseBenchOptions } from '../../src/cli/bench.js';
import { InputError } from '../../src/cli/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kwt-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Minimal XML well-formedness: one root, every tag closed in order, quoted attributes, known entities. */
function xmlProblems(text: string): string | null {
  const body = text.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const re = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+);)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[2] === undefined) return `stray ${m[0]} at ${m.index}`;
    if (m[1]) {
      if (stack.pop() !== m[2]) return `</${m[2]}> closes the wrong element at ${m.index}`;
    } else if (!m[4]) {
      if (stack.length === 0) roots++;
      stack.push(m[2]);
    } else if (stack.length === 0) roots++;
  }
  if (stack.length) return `unclosed ${stack.join(' > ')}`;
  return roots === 1 ? null : `${roots} root elements`;
}

describe('kubewire bench --json --chart', () => {
  const chart = join(dir, 'out', 'bench.svg');
  let stdout = '';
  const stderr: string[] = [];
  const code = benchCommand({ services: '10,40', json: true, chart, positions: '20' }, (s) => (stdout += s), { isTTY: false, write: (s) => void stderr.push(s) });
  const rows = JSON.parse(stdout) as Record<string, unknown>[];

  it('exits 0 with one object per mode and size, and no progress bar when stderr is not a terminal', () => {
    expect(code).toBe(0);
    expect(rows.map((r) => `${String(r.mode)}/${String(r.services)}`)).toEqual(['iptables/10', 'ipvs/10', 'iptables/40', 'ipvs/40']);
    expect(stderr).toEqual([]);
  });

  it('has the fields the issue lists, as numbers', () => {
    const paths = ['services', 'endpointsPerService', 'sync.fullMs', 'sync.partialMs', 'sync.rules', 'firstPacket.rulesEvaluated.mean', 'firstPacket.rulesEvaluated.max', 'firstPacket.nsPerPacket', 'established.rulesEvaluated.mean', 'established.nsPerPacket', 'memoryBytes'];
    for (const r of rows) {
      expect(['iptables', 'ipvs']).toContain(r.mode);
      for (const p of paths) {
        const v = p.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], r);
        expect(typeof v, `${p} of ${String(r.mode)}/${String(r.services)}`).toBe('number');
        expect(Number.isFinite(v as number)).toBe(true);
      }
      expect(r.endpointsPerService).toBe(2);
      expect((r.firstPacket as { positions: number }).positions).toBe(Math.min(20, r.services as number));
      expect(String((r.firstPacket as { kernelEstimate: { basis: string } }).kernelEstimate.basis)).toMatch(/^estimate/);
      // What a node holds is more than nothing, whatever the earlier sizes left to free.
      expect(r.memoryBytes as number, `memoryBytes of ${String(r.mode)}/${String(r.services)}`).toBeGreaterThan(0);
    }
  });

  it('writes a well-formed SVG with one panel per figure, both modes in each', () => {
    const svg = readFileSync(chart, 'utf8');
    expect(xmlProblems(svg)).toBeNull();
    expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const panels = [...svg.matchAll(/<g class="panel" id="panel-(\d+)"/g)];
    expect(panels.length).toBe(10);
    for (const t of ['Full sync (generate + apply)', 'Partial sync (+1 Service)', 'Memory held', 'First packet: rules evaluated (mean over positions)', 'First packet: rules evaluated (worst position)', 'First packet: time per packet (mean over positions)', 'Established packet: rules evaluated', 'Established packet: time per packet']) {
      expect(svg).toContain(`>${t}</text>`);
    }
    expect(svg).toContain('Services (log scale)');
    // two modes x two sizes: a line per mode in the rules panel
    const rulesPanel = svg.split('<g class="panel" id="panel-4"')[1]!.split('</g>')[0]!;
    expect([...rulesPanel.matchAll(/<path class="series"/g)].length).toBe(2);
    expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('well-formedness check itself rejects broken XML', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toBeNull();
    expect(xmlProblems('<svg a="1">x & y</svg>')).not.toBeNull();
    expect(xmlProblems('<svg><g/></svg>')).toBeNull();
  });

  it('refuses bad flags with an input error', () => {
    expect(() => parseBenchOptions({ services: '10,x' })).toThrow(InputError);
    expect(() => parseBenchOptions({ services: '0' })).toThrow(/from 1 to/);
    expect(() => parseBenchOptions({ modes: 'iptables,nftables' })).toThrow(/unknown mode "nftables"/);
    expect(() => parseBenchOptions({ endpoints: '0' })).toThrow(InputError);
    expect(() => parseBenchOptions({ ports: '99' })).toThrow(InputError);
    expect(parseBenchOptions({}).services).toEqual([10, 100, 1000, 5000, 10000, 20000, 50000]);
  });
});
