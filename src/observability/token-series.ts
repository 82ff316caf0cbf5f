// The per-ServiceAccountToken series and their aggregates, kept outside prom-client: at 100,000 tokens a prom-client
// gauge renders every series in one synchronous call (seconds with the event loop blocked, tens of MB of strings at
// once). Here each token is one row with its label text prepared when it is observed, the aggregates are counted as
// rows change, and rendering is a generator that yields a chunk of lines at a time, so a scrape interleaves with
// reconciles and never holds more than one chunk of text.

/** How many per-token series the controller exports (`--token-metrics`). */
export type TokenSeriesMode = 'all' | 'unhealthy';
export const TOKEN_SERIES_MODES: readonly TokenSeriesMode[] = ['all', 'unhealthy'];

/** One ServiceAccountToken as the metrics see it: identity, readiness and its schedule. */
export interface TokenObservation {
  namespace: string;
  name: string;
  /**
   * The provider object the token names, as `namespace/name` or `cluster/name` (a ClusterCredentialsProvider), also
   * when that object does not exist. Empty when unknown.
   */
  provider?: string;
  /** Status of the Ready condition. */
  ready: 'True' | 'False' | 'Unknown';
  /** Reason of the Ready condition, e.g. Issued, Expired, UpstreamError (a bounded set: see api/v1alpha1/conditions). */
  reason: string;
  /** Expiry of the token the Secret holds now; absent when it never expires or none was issued. */
  expiresAt?: Date;
  /** When tokensync will rotate it; absent when it is never rotated. */
  renewalTime?: Date;
}

interface Row {
  /** `namespace="…",name="…"`, escaped once. */
  readonly identity: string;
  provider: string;
  ready: TokenObservation['ready'];
  reason: string;
  /** Unix seconds, or undefined. */
  expiresAt: number | undefined;
  renewalAt: number | undefined;
  /** Key of the `tokensync_tokens` aggregate this row is counted in. */
  countKey: string;
  /** `namespace="…",provider="…"`: the group of the time-dependent aggregates. */
  groupKey: string;
}

export const TOKEN_FAMILIES = {
  ready: {
    name: 'tokensync_token_ready',
    help: 'Whether a ServiceAccountToken is Ready (1) or not (0); reason is the Ready condition reason. One series per token.',
  },
  expiration: {
    name: 'tokensync_token_expiration_timestamp_seconds',
    help: 'Unix time at which the current token of a ServiceAccountToken expires (absent when it never expires).',
  },
  renewal: {
    name: 'tokensync_token_renewal_timestamp_seconds',
    help: 'Unix time at which tokensync rotates the token of a ServiceAccountToken (absent when never rotated).',
  },
  tokens: {
    name: 'tokensync_tokens',
    help: 'ServiceAccountTokens by namespace, provider, Ready status and reason.',
  },
  expired: {
    name: 'tokensync_tokens_expired',
    help: 'ServiceAccountTokens whose current token has expired, by namespace and provider.',
  },
  renewalDue: {
    name: 'tokensync_tokens_renewal_due',
    help: 'ServiceAccountTokens whose renewal time has passed and that were not rotated yet, by namespace and provider.',
  },
} as const;

/** Label value escaping of the text exposition format (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

function header(family: { name: string; help: string }): string {
  return `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} gauge\n`;
}

/** Adds delta to a count, deleting it at zero so label sets of the past do not linger. */
function adjust(counts: Map<string, number>, key: string, delta: number): void {
  const n = (counts.get(key) ?? 0) + delta;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class TokenSeries {
  readonly #rows = new Map<string, Row>();
  /** tokensync_tokens: label text -> count. */
  readonly #counts = new Map<string, number>();
  /** Rows per namespace and provider, so the time-dependent aggregates report 0 rather than nothing. */
  readonly #groups = new Map<string, number>();
  /** One string per distinct label set, shared by every row in it (100,000 rows, a few hundred label sets). */
  readonly #interned = new Map<string, string>();
  readonly mode: TokenSeriesMode;
  readonly #chunkSize: number;

  constructor(options: { mode?: TokenSeriesMode; chunkSize?: number } = {}) {
    this.mode = options.mode ?? 'all';
    this.#chunkSize = options.chunkSize ?? 2_000;
  }

  get size(): number {
    return this.#rows.size;
  }

  observe(token: TokenObservation): void {
    const key = `${token.namespace}/${token.name}`;
    // One copy of each provider key for all its rows (the caller builds a new string for every observation).
    const provider = this.#intern(token.provider ?? '');
    const reason = token.reason || token.ready;
    const groupKey = this.#intern(
      `namespace="${escapeLabelValue(token.namespace)}",provider="${escapeLabelValue(provider)}"`,
    );
    const countKey = this.#intern(`${groupKey},ready="${token.ready}",reason="${escapeLabelValue(reason)}"`);
    let row = this.#rows.get(key);
    if (!row) {
      row = {
        // join, not a template literal: V8 keeps a template's result as a chain of four rope nodes holding the parts
        // (about 130 bytes a row at 10,000 rows); join copies the text into one flat string.
        identity: [
          'namespace="',
          escapeLabelValue(token.namespace),
          '",name="',
          escapeLabelValue(token.name),
          '"',
        ].join(''),
        provider,
        ready: token.ready,
        reason,
        expiresAt: undefined,
        renewalAt: undefined,
        countKey,
        groupKey,
      };
      this.#rows.set(key, row);
      adjust(this.#counts, countKey, 1);
      adjust(this.#groups, groupKey, 1);
    } else {
      if (row.countKey !== countKey) {
        adjust(this.#counts, row.countKey, -1);
        adjust(this.#counts, countKey, 1);
        row.countKey = countKey;
      }
      if (row.groupKey !== groupKey) {
        adjust(this.#groups, row.groupKey, -1);
        adjust(this.#groups, groupKey, 1);
        row.groupKey = groupKey;
      }
    }
    row.provider = provider;
    row.ready = token.ready;
    row.reason = reason;
    row.expiresAt = token.expiresAt ? token.expiresAt.getTime() / 1000 : undefined;
    row.renewalAt = token.renewalTime ? token.renewalTime.getTime() / 1000 : undefined;
  }

  #intern(text: string): string {
    const existing = this.#interned.get(text);
    if (existing !== undefined) return existing;
    // Bounded by the label sets in use: drop the table when it outgrows them (rows keep their strings).
    if (this.#interned.size > 4 * (this.#counts.size + this.#groups.size) + 1_000) this.#interned.clear();
    this.#interned.set(text, text);
    return text;
  }

  forget(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const row = this.#rows.get(key);
    if (!row) return;
    adjust(this.#counts, row.countKey, -1);
    adjust(this.#groups, row.groupKey, -1);
    this.#rows.delete(key);
  }

  /** In `unhealthy` mode only these rows get per-token series: not Ready, renewal due, or expired. */
  #needsAttention(row: Row, nowSeconds: number): boolean {
    return (
      row.ready !== 'True' ||
      (row.renewalAt !== undefined && row.renewalAt <= nowSeconds) ||
      (row.expiresAt !== undefined && row.expiresAt <= nowSeconds)
    );
  }

  /**
   * The exposition text of every family, in chunks of at most `chunkSize` tokens, yielding to the event loop between
   * chunks. `now` decides the time-dependent aggregates and, in `unhealthy` mode, which tokens get series.
   */
  async *render(now: Date): AsyncGenerator<string> {
    const nowSeconds = now.getTime() / 1000;
    const all = this.mode === 'all';
    const chunk = this.#chunkSize;

    let out = header(TOKEN_FAMILIES.tokens);
    for (const [labels, n] of this.#counts) out += `${TOKEN_FAMILIES.tokens.name}{${labels}} ${n}\n`;
    yield out;

    // Pass 1: the ready series, and the time-dependent aggregates (counted by namespace and provider).
    const expired = new Map<string, number>();
    const renewalDue = new Map<string, number>();
    for (const group of this.#groups.keys()) {
      expired.set(group, 0);
      renewalDue.set(group, 0);
    }
    out = header(TOKEN_FAMILIES.ready);
    let i = 0;
    for (const row of this.#rows.values()) {
      const isExpired = row.expiresAt !== undefined && row.expiresAt <= nowSeconds;
      const isDue = !isExpired && row.renewalAt !== undefined && row.renewalAt <= nowSeconds;
      if (isExpired || isDue) {
        const map = isExpired ? expired : renewalDue;
        map.set(row.groupKey, (map.get(row.groupKey) ?? 0) + 1);
      }
      if (all || this.#needsAttention(row, nowSeconds)) {
        out +=
          `${TOKEN_FAMILIES.ready.name}{${row.identity},provider="${escapeLabelValue(row.provider)}",` +
          `reason="${escapeLabelValue(row.reason)}"} ${row.ready === 'True' ? 1 : 0}\n`;
      }
      if (++i % chunk === 0) {
        yield out;
        out = '';
        await yieldToEventLoop();
      }
    }
    yield out;

    for (const [family, field] of [
      [TOKEN_FAMILIES.expiration, 'expiresAt'],
      [TOKEN_FAMILIES.renewal, 'renewalAt'],
    ] as const) {
      await yieldToEventLoop();
      out = header(family);
      i = 0;
      for (const row of this.#rows.values()) {
        const value = row[field];
        if (value !== undefined && (all || this.#needsAttention(row, nowSeconds))) {
          out += `${family.name}{${row.identity}} ${value}\n`;
        }
        if (++i % chunk === 0) {
          yield out;
          out = '';
          await yieldToEventLoop();
        }
      }
      yield out;
    }

    for (const [family, map] of [
      [TOKEN_FAMILIES.expired, expired],
      [TOKEN_FAMILIES.renewalDue, renewalDue],
    ] as const) {
      out = header(family);
      for (const [labels, n] of map) out += `${family.name}{${labels}} ${n}\n`;
      yield out;
    }
  }
}
