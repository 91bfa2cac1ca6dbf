import type { HttpReply } from '../../plugin.js';

/** health: `GET /health` answers 200 `OK` while the process runs (also during lame duck). */
export class Health {
  constructor(readonly lameduckSec: number) {}
  get(): HttpReply {
    return { status: 200, body: 'OK', contentType: 'text/plain; charset=utf-8' };
  }
}
