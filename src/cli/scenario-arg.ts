import { existsSync } from 'node:fs';
import { defaultScenarioPath } from '../scenario/default.js';
import { loadScenarioFile, type Scenario } from '../scenario/load.js';
import { startRuntime, type Runtime } from '../scenario/runtime.js';

/** True when a positional argument names a scenario file or folder rather than a target. */
export function looksLikeScenario(arg: string | undefined): arg is string {
  return arg !== undefined && (/\.ya?ml$/.test(arg) || arg.includes('/') && existsSync(arg) && !/^(pod|node|host)\//.test(arg));
}

export function loadScenario(path: string | undefined, sets: readonly string[]): Scenario {
  return loadScenarioFile(path ?? defaultScenarioPath(), sets);
}

export function runtimeFor(path: string | undefined, sets: readonly string[]): Runtime {
  return startRuntime(loadScenario(path, sets));
}
