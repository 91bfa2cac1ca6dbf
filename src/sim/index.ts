export * from './clock.js';
export * from './event-queue.js';
export * from './random.js';
export * from './trace.js';
