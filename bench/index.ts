// Runs every bench/*.bench.ts suite, or only those whose file name contains an argument:
// `npm run bench -- wire`. Each suite exports `run(): Promise<void>` and prints its own table.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (suites.length === 0) {
  console.error(`no bench suite matches ${filters.join(', ')}`);
  process.exit(2);
}
for (const f of suites) {
  console.log(`\n## ${f}`);
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: () => Promise<void> };
  await mod.run();
}
