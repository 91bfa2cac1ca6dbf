#!/usr/bin/env node
// The kubewire command. The only module that touches `process`: it parses arguments, runs a
// command and maps its outcome to the exit code (0 done/delivered, 1 not delivered, 2 bad input).
import { Command, CommanderError } from 'commander';
import { ScenarioError } from '../scenario/error.js';
import { EXIT_BAD_INPUT, InputError } from './errors.js';
import { looksLikeScenario, runtimeFor } from './scenario-arg.js';
import { addKernelCommand } from './kernel.js';
import { show } from './show.js';
import { digCommand, type DigCliOptions } from './dig.js';
import { runCommand, sendTraffic, traceCommand, type TraceCliOptions } from './trace-cli.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const out = (s: string): void => void process.stdout.write(s);

const program = new Command();
program
  .name('kubewire')
  .description('Packet-level emulator of the Kubernetes dataplane')
  .version('0.1.0')
  .exitOverride()
  .showHelpAfterError()
  .configureOutput({ writeErr: (s: string) => void process.stderr.write(s) });

program
  .command('show')
  .description("a node's, pod's or host's state in the real tool's format")
  .argument('[scenario]', 'scenario file or folder (default: the built-in seed cluster)')
  .argument('<target>', 'node name or IP, pod/NS/NAME, pod IP, host/NAME')
  .argument('[what...]', 'ip addr | ip -d link | ip route [show table local|all] | ip neigh | bridge fdb | cat /etc/resolv.conf | cat /proc/sys/kernel/random/boot_id | sysctl KEY | iptables-save [-t T] [-c] | iptables -t T -L -n -v | conntrack -L | ipset list | ipvsadm -Ln [--stats|--rate] | ipvsadm -Lnc')
  .option('--set <path=value>', 'override a scenario field (repeatable)', collect, [])
  .option('--after-run', "send the scenario's traffic first (for conntrack -L, ipvsadm -Lnc, counters)")
  .allowUnknownOption()
  .action((a: string | undefined, b: string, rest: string[], opts: { set: string[]; afterRun?: boolean }) => {
    // The scenario is optional and comes first: tell it from the target by its shape
    // (`show NODE iptables-save` has one word of WHAT, so commander sees it as the target).
    let scenario: string | undefined = a;
    let target = b;
    let what = rest;
    if (!looksLikeScenario(a)) {
      scenario = undefined;
      target = a!;
      what = [b, ...rest];
    }
    if (what.length === 0) throw new InputError("kubewire show: missing WHAT (e.g. 'ip route', 'iptables-save'); see kubewire show --help");
    const rt = runtimeFor(scenario, opts.set);
    if (opts.afterRun) sendTraffic(rt);
    out(show(rt, target, what));
  });

const traceOpts = (c: Command): Command =>
  c
    .option('--pcap <file>', 'write every frame on the way as pcapng')
    .option('--json', 'print the trace as JSON (docs/trace-json.md)')
    .option('--set <path=value>', 'override a scenario field (repeatable)', collect, []);

traceOpts(
  program
    .command('trace')
    .description('send one exchange and print every hop of the request and the reply')
    .argument('[scenario]', 'scenario file or folder (default: the built-in seed cluster)')
    .requiredOption('--from <endpoint>', 'pod/NS/NAME, node/NAME, host/NAME or an IP')
    .requiredOption('--to <endpoint>', 'IP, IP:PORT, svc/NS/NAME:PORT, pod/NS/NAME:PORT')
    .option('--proto <proto>', 'tcp | udp | icmp', 'tcp'),
).action((scenario: string | undefined, opts: TraceCliOptions) => {
  process.exitCode = traceCommand(scenario, opts, out);
});

traceOpts(
  program
    .command('run')
    .description("send the scenario's traffic list; one summary line per flow and its path")
    .argument('[scenario]', 'scenario file or folder (default: the built-in seed cluster)'),
).action((scenario: string | undefined, opts: Omit<TraceCliOptions, 'from' | 'to' | 'proto'>) => {
  process.exitCode = runCommand(scenario, opts, out);
});

addKernelCommand(program, out);

program
  .command('dig')
  .description('a DNS lookup from a pod (or node, host) through the dataplane, printed like dig')
  .argument('<words...>', '[SCENARIO] NAME [TYPE] [@SERVER] [+search] [+showsearch] [+tcp] [+short]')
  .requiredOption('--from <endpoint>', 'pod/NS/NAME, node/NAME, host/NAME or an IP')
  .option('--pcap <file>', 'write every frame of the lookup as pcapng')
  .option('--json', 'print the reply as JSON')
  .option('--set <path=value>', 'override a scenario field (repeatable)', collect, [])
  .allowUnknownOption()
  .action((words: string[], opts: DigCliOptions) => {
    const scenario = looksLikeScenario(words[0]) ? words[0] : undefined;
    process.exitCode = digCommand(scenario, scenario ? words.slice(1) : words, opts, out);
  });

const pending: [string, string, string][] = [
];
for (const [name, description, needs] of pending) {
  program
    .command(name)
    .description(`${description} [not in this build]`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new InputError(`kubewire ${name}: not available in this build: it needs ${needs}`);
    });
}

(await import('./bench.js')).registerBench(program);

try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else if (e instanceof InputError || e instanceof ScenarioError) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    throw e;
  }
}
