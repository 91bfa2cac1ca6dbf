export * from './error.js';
export * from './load.js';
export type { Manifest } from './manifests.js';
export { LIMITS } from './source.js';
export { defaultScenarioPath } from './default.js';
