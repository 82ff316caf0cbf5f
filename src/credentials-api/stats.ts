/**
 * Counters since start (or since the last reset). Tests of the controller assert on them, e.g. "one rotation is
 * exactly one mint and one revoke", which a log grep could not prove.
 */
export interface StatsSnapshot {
  mints: number;
  revokes: number;
  requests: number;
  rateLimited: number;
}

export class Stats {
  mints = 0;
  revokes = 0;
  requests = 0;
  rateLimited = 0;

  snapshot(): StatsSnapshot {
    return { mints: this.mints, revokes: this.revokes, requests: this.requests, rateLimited: this.rateLimited };
  }

  reset(): void {
    this.mints = 0;
    this.revokes = 0;
    this.requests = 0;
    this.rateLimited = 0;
  }
}
