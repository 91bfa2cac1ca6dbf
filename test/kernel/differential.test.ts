// The differential suite (issue 11): every scenario built twice, in the model and in real
// network namespaces, and compared. Known differences are listed narrowly, each with the
// reason; docs/kernel-mode.md "Known differences" has the diffs.
import { missing } from '../helpers/tools.js';
import type { KnownDifference } from '../../src/kernel/diff.js';
import { describe } from 'vitest';
import { differential } from './suite.js';

const why = missing({ root: true, tools: ['ip', 'bridge', 'iptables-restore', 'iptables-save', 'tcpdump', 'conntrack', 'python3', 'ping', 'ss'] });

/** iptables 1.8's libxt_nfacct prints `--nfacct-name ` and then xtables_save_string's own leading space. */
const NFACCT: KnownDifference[] = [
  { item: / iptables-save$/, op: '-', line: /-m nfacct --nfacct-name \S/, why: 'the model prints one space after --nfacct-name; iptables-save prints two' },
  { item: / iptables-save$/, op: '+', line: /-m nfacct --nfacct-name  \S/, why: 'the model prints one space after --nfacct-name; iptables-save prints two' },
];

describe.skipIf(why !== null)('differential', () => {
  differential(
    {
      tag: 'fl',
      file: 'scenarios/two-node-flannel.yaml',
      allow: NFACCT,
      exchanges: [
        { from: 'pod/default/client', to: '10.42.1.2:8080', proto: 'tcp', delivered: true },
        { from: 'pod/default/client', to: '10.42.1.2:5353', proto: 'udp', delivered: true },
        { from: 'pod/default/client', to: '203.0.113.10:80', proto: 'tcp', delivered: true },
        { from: 'pod/default/client', to: 'svc/default/echo:80', proto: 'tcp', delivered: true, anyOf: /^HTTP\/1\.1 200 OK \| Hostname: echo-5fb55d6bdc-(2lgg2|xb9tp)$/ },
      ],
    },
    'd',
  );
});
