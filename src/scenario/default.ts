import { fileURLToPath } from 'node:url';

/**
 * The built-in default scenario (the seed cluster) ships as scenarios/seed.yaml in the
 * package; this answers its path both from src/ (tsx, tests) and from dist/ (built).
 */
export function defaultScenarioPath(): string {
  return fileURLToPath(new URL('../../scenarios/seed.yaml', import.meta.url));
}
