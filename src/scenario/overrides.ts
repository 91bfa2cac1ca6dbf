import { ScenarioError } from './error.js';
import type { SourceDoc } from './source.js';

/**
 * `--set path=value` what-if overrides, applied to the documents before they are checked, so
 * an override is validated like the file itself. `kubeProxy.<field>` addresses the
 * KubeProxyConfiguration document (created when the scenario has none); any other path is a
 * field of the Cluster's spec (`cni=flannel`, `seed=7`, `nodes[0].podCIDR=10.42.9.0/24`).
 * Values are read as YAML scalars (numbers and booleans are typed).
 */
export function applyOverrides(docs: SourceDoc[], sets: readonly string[]): SourceDoc[] {
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw bad(s, 'expected path=value');
    const path = parsePath(s.slice(0, eq), s);
    const value = scalar(s.slice(eq + 1));
    let target: Record<string, unknown> | undefined;
    let rest = path;
    if (path[0] === 'kubeProxy') {
      rest = path.slice(1);
      let kp = docs.find((d) => (d.value as { kind?: string }).kind === 'KubeProxyConfiguration');
      if (!kp) {
        const first = docs.find((d) => (d.value as { kind?: string }).kind === 'Cluster') ?? docs[0];
        if (!first) throw bad(s, 'the scenario has no documents');
        kp = { ...first, index: -1, value: { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration' } };
        docs.push(kp);
      }
      target = kp.value as Record<string, unknown>;
    } else {
      const c = docs.find((d) => (d.value as { kind?: string }).kind === 'Cluster');
      if (!c) throw bad(s, 'the scenario has no Cluster document');
      const v = c.value as Record<string, unknown>;
      v.spec ??= {};
      target = v.spec as Record<string, unknown>;
    }
    if (rest.length === 0) throw bad(s, 'the path names no field');
    let o: unknown = target;
    for (let i = 0; i < rest.length - 1; i++) {
      const k = rest[i]!;
      const cur = (o as Record<string | number, unknown>)[k];
      if (cur === undefined || cur === null) {
        if (typeof k === 'number') throw bad(s, `no item [${k}]`);
        (o as Record<string, unknown>)[k] = typeof rest[i + 1] === 'number' ? [] : {};
      } else if (typeof cur !== 'object') throw bad(s, `${String(k)} is not a mapping or list`);
      o = (o as Record<string | number, unknown>)[k];
    }
    const last = rest[rest.length - 1]!;
    if (typeof last === 'number' && (!Array.isArray(o) || last >= o.length)) throw bad(s, `no item [${last}]`);
    (o as Record<string | number, unknown>)[last] = value;
  }
  return docs;
}

function parsePath(p: string, whole: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of p.split('.')) {
    const m = /^([A-Za-z_][\w-]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw bad(whole, `bad path element "${part}"`);
    out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function scalar(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null') return null;
  if (/^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return v.replace(/^"(.*)"$/, '$1');
}

function bad(s: string, why: string): ScenarioError {
  return new ScenarioError([{ severity: 'error', pos: { file: '--set', line: 1, col: 1 }, message: `--set ${s}: ${why}` }]);
}
