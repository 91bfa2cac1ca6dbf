import { describe, expect, it } from 'vitest';
import { parseCorefile } from '../../../src/apps/coredns/corefile/parser.js';
import { lex } from '../../../src/apps/coredns/corefile/lexer.js';
import { CorefileError } from '../../../src/apps/coredns/corefile/errors.js';
import { PLUGIN_CFG } from '../../../src/apps/coredns/plugin-cfg.js';
import { makeWorld, SEED_COREFILE } from './fixture.js';

const VALID = new Set(PLUGIN_CFG);

function loadError(corefile: string, files?: Record<string, string>): string {
  try {
    makeWorld({ corefile, ...(files ? { files: { '/etc/resolv.conf': 'nameserver 192.168.4.1\n', ...files } } : {}) });
  } catch (e) {
    expect(e).toBeInstanceOf(CorefileError);
    return (e as Error).message;
  }
  throw new Error('Corefile loaded but should not have');
}

describe('Caddyfile lexer', () => {
  it('splits on white space, keeps quoted tokens, drops comments, counts lines', () => {
    const t = lex('Corefile', '.:53 {\n  forward . "/etc/resolv.conf" # upstream\n  log "a b"#c\n}\n');
    expect(t.map((x) => [x.text, x.line])).toEqual([
      ['.:53', 1],
      ['{', 1],
      ['forward', 2],
      ['.', 2],
      ['/etc/resolv.conf', 2],
      ['log', 3],
      ['a b', 3],
      ['}', 4],
    ]);
    expect(t[4]!.quoted).toBe(true);
  });
  it('a quoted token may span lines and escape quotes', () => {
    const t = lex('f', 'x "a\\"b\nc" y');
    expect(t.map((x) => [x.text, x.line])).toEqual([
      ['x', 1],
      ['a"b\nc', 1],
      ['y', 2],
    ]);
  });
});

describe('Corefile parser', () => {
  it('reads server blocks, keys and directive uses in Corefile order', () => {
    const b = parseCorefile('cluster.local:53 example.org {\n  kubernetes\n}\n.:53 {\n  cache 30 {\n    success 1000\n  }\n  forward . 1.1.1.1\n}\n', { validDirectives: VALID });
    expect(b.map((x) => x.keys)).toEqual([['cluster.local:53', 'example.org'], ['.:53']]);
    expect(b[1]!.directives.map((d) => [d.name, d.tokens.map((t) => t.text).join(' ')])).toEqual([
      ['cache', 'cache 30 { success 1000 }'],
      ['forward', 'forward . 1.1.1.1'],
    ]);
  });
  it('expands snippets and imports of files (ConfigMap keys), with one glob', () => {
    const files = {
      '/etc/coredns/custom/a.override': 'log\n',
      '/etc/coredns/custom/b.override': 'errors\n',
      '/etc/coredns/custom/x.server': 'example.org:53 {\n  whoami\n}\n',
    };
    const b = parseCorefile(
      '(common) {\n  cache 30\n}\n.:53 {\n  import common\n  import /etc/coredns/custom/*.override\n  forward . 1.1.1.1\n}\nimport /etc/coredns/custom/*.server\n',
      { validDirectives: VALID, files, filename: '/etc/coredns/Corefile' },
    );
    expect(b.map((x) => x.keys)).toEqual([['.:53'], ['example.org:53']]);
    expect(b[0]!.directives.map((d) => d.name)).toEqual(['cache', 'log', 'errors', 'forward']);
    expect(b[0]!.directives[1]!.tokens[0]!.file).toBe('/etc/coredns/custom/a.override');
  });
  it('substitutes {$ENV} placeholders', () => {
    const b = parseCorefile('.:{$PORT} {\n  forward . {$UP}\n}\n', { validDirectives: VALID, env: { PORT: '1053', UP: '9.9.9.9' } });
    expect(b[0]!.keys).toEqual(['.:1053']);
    expect(b[0]!.directives[0]!.tokens.map((t) => t.text)).toEqual(['forward', '.', '9.9.9.9']);
  });
});

describe('bad Corefiles fail like CoreDNS, naming the line', () => {
  const cases: [string, string, string][] = [
    ['unknown plugin', '.:53 {\n    errors\n    foo bar\n}\n', "Corefile:3 - Error during parsing: Unknown directive 'foo'"],
    ['unexpected closing brace', '.:53 {\n    errors }\n}\n', "Corefile:2 - Error during parsing: Unexpected '}' because no matching opening brace"],
    ['unclosed nested block', '.:53 {\n    cache 30 {\n        success 1000\n', 'Corefile:3 - Error during parsing: Unexpected EOF'],
    ['unclosed server block', '.:53 {\n    errors\n    forward . 1.1.1.1\n', "Corefile:3 - Syntax error: Unexpected token '1.1.1.1', expecting '}'"],
    ['forward without upstream', '.:53 {\n    errors\n    forward .\n}\n', "plugin/forward: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after '.'"],
    ['forward to a name', '.:53 {\n    forward . dns.google\n}\n', 'plugin/forward: not an IP address or file: "dns.google"'],
    ['forward policy', '.:53 {\n    forward . 1.1.1.1 {\n        policy fastest\n    }\n}\n', "plugin/forward: Corefile:3 - Error during parsing: unknown policy 'fastest'"],
    ['forward property', '.:53 {\n    forward . 1.1.1.1 {\n        foo\n    }\n}\n', "plugin/forward: Corefile:3 - Error during parsing: unknown property 'foo'"],
    ['kubernetes pods', '.:53 {\n    kubernetes cluster.local {\n        pods sometimes\n    }\n}\n', 'plugin/kubernetes: wrong value for pods: sometimes,  must be one of: disabled, verified, insecure'],
    ['kubernetes ttl range', '.:53 {\n    kubernetes cluster.local {\n        ttl 4000\n    }\n}\n', 'plugin/kubernetes: Corefile:3 - Error during parsing: ttl must be in range [0, 3600]: 4000'],
    ['kubernetes twice', '.:53 {\n    kubernetes cluster.local\n    kubernetes other.local\n}\n', 'plugin/kubernetes: Corefile:3 - Error during parsing: this plugin can only be used once per Server Block'],
    ['cache ttl', '.:53 {\n    cache -1\n}\n', 'plugin/cache: cache TTL can not be zero or negative: -1'],
    ['bufsize range', '.:53 {\n    bufsize 10000\n}\n', "plugin/bufsize: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '10000'"],
    ['hosts ttl', '.:53 {\n    hosts {\n        ttl abc\n    }\n}\n', 'plugin/hosts: Corefile:3 - Error during parsing: ttl needs a number of second'],
    ['import of a missing file', '.:53 {\n    import /etc/coredns/missing.conf\n}\n', 'Corefile:2 - Error during parsing: File to import not found: /etc/coredns/missing.conf'],
    ['duplicate zone', '.:53 {\n    whoami\n}\n.:53 {\n    whoami\n}\n', 'cannot serve dns://.:53 - it is already defined'],
  ];
  for (const [title, corefile, message] of cases) {
    it(title, () => expect(loadError(corefile, {})).toBe(message));
  }

  it('a failed load changes nothing: the previous server keeps answering', () => {
    const w = makeWorld({ corefile: SEED_COREFILE });
    expect(() => makeWorld({ corefile: '.:53 {\n  foo\n}\n' })).toThrow(CorefileError);
    expect(w.dns.configs(53).map((c) => c.zone)).toEqual(['.']);
  });
});

describe('the compressing packer', () => {
  it('packs uncompressed exactly as dns-packet does', async () => {
    const { packMsg } = await import('../../../src/apps/coredns/dns/pack.js');
    const { encodeMsg } = await import('../../../src/apps/coredns/dns/message.js');
    const { ask } = await import('./fixture.js');
    const w = makeWorld();
    for (const [n, t] of [
      ['_tcp._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV'],
      ['nope.k8s.svc.cluster.local', 'A'],
      ['dns-version.cluster.local', 'TXT'],
      ['external-xxx.k8s.svc.cluster.local', 'A'],
      ['fd00--1.k8s.pod.cluster.local', 'AAAA'],
    ] as const) {
      const r = ask(w, n, t, { proto: 'tcp' }).reply;
      delete r.wire;
      expect(packMsg(r, false)).toEqual(encodeMsg({ ...r, compress: false }));
    }
  });
});
