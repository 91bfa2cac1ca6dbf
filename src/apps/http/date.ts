/**
 * HTTP dates (RFC 9110 5.6.7 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`, as nginx's
 * ngx_http_time prints them) from the simulated clock: a scenario fixes the wall-clock time
 * at which simulated time 0 falls, so output is the same on every run.
 */
import { NS_PER_S, type Nanos } from '../../sim/clock.js';

/** Simulated time 0 by default: 2024-07-31 15:59:43 UTC, the time of the seed's capture. */
export const DEFAULT_EPOCH_S = 1722441583;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Days since 1970-01-01 to (year, month 1-12, day), Howard Hinnant's civil_from_days. */
function civil(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** Seconds since the Unix epoch as an IMF-fixdate. */
export function formatHttpDate(unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const days = Math.floor(t / 86400);
  const sod = t - days * 86400;
  const [y, mo, d] = civil(days);
  const wd = DAYS[(((days % 7) + 11) % 7)]!; // 1970-01-01 was a Thursday
  return `${wd}, ${pad2(d)} ${MONTHS[mo - 1]!} ${y} ${pad2(Math.floor(sod / 3600))}:${pad2(Math.floor((sod % 3600) / 60))}:${pad2(sod % 60)} GMT`;
}

/** A wall clock over the simulated one. */
export interface WallClock {
  /** Simulated nanoseconds now (EventQueue.now). */
  readonly now: Nanos;
}

export function httpDate(clock: WallClock, epochSeconds: number = DEFAULT_EPOCH_S): string {
  return formatHttpDate(epochSeconds + Math.floor(clock.now / NS_PER_S));
}
