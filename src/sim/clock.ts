/**
 * Simulated time in nanoseconds since the start of the run. A double holds whole
 * nanoseconds exactly for 104 days, far beyond any run.
 */
export type Nanos = number;

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

export function seconds(s: number): Nanos {
  return Math.round(s * NS_PER_S);
}

export function millis(ms: number): Nanos {
  return Math.round(ms * NS_PER_MS);
}

export function micros(us: number): Nanos {
  return Math.round(us * NS_PER_US);
}
