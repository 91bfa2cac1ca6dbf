/**
 * HTTP dates (RFC 9110 5.6.7 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, as nginx's
 * ngx_http_time prints them) from the simulated clock: a scenario fixes the wall-clock time
 * at which simulated time 0 falls, so output is the same on every run.
 */
import { NS_PER_S, type Nanos } from '../../sim/clock.js';
import { MONTHS, pad2, utcTime, WEEKDAYS } from '../../sim/calendar.js';

/** Simulated time 0 by default: 2024-07-31 15:59:43 UTC, the time of the seed's capture. */
export const DEFAULT_EPOCH_S = 1722441583;

/** Seconds since the Unix epoch as an IMF-fixdate. */
export function formatHttpDate(unixSeconds: number): string {
  const t = utcTime(unixSeconds);
  return `${WEEKDAYS[t.weekday]}, ${pad2(t.day)} ${MONTHS[t.month - 1]} ${t.year} ${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)} GMT`;
}

/** A wall clock over the simulated one. */
export interface WallClock {
  /** Simulated nanoseconds now (EventQueue.now). */
  readonly now: Nanos;
}

export function httpDate(clock: WallClock, epochSeconds: number = DEFAULT_EPOCH_S): string {
  return formatHttpDate(epochSeconds + Math.floor(clock.now / NS_PER_S));
}
