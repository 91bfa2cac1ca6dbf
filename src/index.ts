// The library entry: load a scenario, run it, trace exchanges, print state. Never touches process.
export * from './scenario/index.js';
export { startRuntime, type Runtime } from './scenario/runtime.js';
export { resolvePlace, type Place } from './scenario/endpoints.js';
export { resolveTarget, runExchange, type ExchangeResult, type Target, type Proto } from './scenario/trace/exchange.js';
export { formatTraceText } from './scenario/trace/text.js';
export { traceJson } from './scenario/trace/json.js';
