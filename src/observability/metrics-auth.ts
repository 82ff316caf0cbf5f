// Authentication and authorization of /metrics the way controller-runtime's secure metrics server does it
// (filters.WithAuthenticationAndAuthorization): the bearer token is checked with a TokenReview, the identity it
// belongs to with a SubjectAccessReview for the non-resource URL (`get /metrics`), both against the real API server.
// Whoever may `get` the nonResourceURL /metrics (the chart's metrics-reader ClusterRole) can scrape; nobody else can.
// Results are cached briefly, like the delegating authenticator and authorizer of k8s.io/apiserver, so a scrape every
// 30 s costs the API server about two reviews a minute per scraper.
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { type KubeConfig, kubeRequest } from '../kube/client.ts';

export type AuthDecision =
  | { allowed: true; user: string }
  | { allowed: false; status: 401 | 403 | 500; reason: string; user?: string };

export interface MetricsAuthorizer {
  /** Decides one request from its Authorization header, for `verb` on the non-resource `path`. */
  check(authorization: string | undefined, verb: string, path: string): Promise<AuthDecision>;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

interface CacheEntry {
  decision: AuthDecision;
  expiresAt: number;
}

/** How long an allowed identity is remembered (controller-runtime caches for minutes; a revoked reader loses access
 * within this). */
const ALLOW_TTL_MS = 60_000;
/** A refusal is remembered for less time, so a freshly granted reader need not wait long. */
const DENY_TTL_MS = 10_000;
/** Bounded: a flood of random tokens must not grow the cache without limit. */
const MAX_ENTRIES = 1_000;

export class KubeMetricsAuthorizer implements MetricsAuthorizer {
  readonly #kc: KubeConfig;
  readonly #clock: Clock;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: { kubeConfig: KubeConfig; clock: Clock }) {
    this.#kc = options.kubeConfig;
    this.#clock = options.clock;
  }

  async check(authorization: string | undefined, verb: string, path: string): Promise<AuthDecision> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return { allowed: false, status: 401, reason: 'no bearer token' };
    // The cache is keyed by a hash: the token itself never sits in memory longer than the request.
    const key = createHash('sha256').update(`${verb} ${path} ${token}`).digest('base64url');
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt > now) return cached.decision;

    const decision = await this.#review(token, verb, path);
    if (decision.allowed || decision.status !== 500) {
      if (this.#cache.size >= MAX_ENTRIES) {
        for (const [k, entry] of this.#cache) if (entry.expiresAt <= now) this.#cache.delete(k);
        if (this.#cache.size >= MAX_ENTRIES) this.#cache.clear();
      }
      this.#cache.set(key, { decision, expiresAt: now + (decision.allowed ? ALLOW_TTL_MS : DENY_TTL_MS) });
    }
    return decision;
  }

  async #review(token: string, verb: string, path: string): Promise<AuthDecision> {
    let review: { status?: TokenReviewStatus };
    try {
      review = await kubeRequest(this.#kc, {
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/tokenreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      });
    } catch (error) {
      return { allowed: false, status: 500, reason: `TokenReview failed: ${(error as Error).message}` };
    }
    const user = review.status?.user;
    if (!review.status?.authenticated || !user?.username) {
      return { allowed: false, status: 401, reason: review.status?.error ? 'token rejected' : 'not authenticated' };
    }
    let access: { status?: { allowed?: boolean; reason?: string } };
    try {
      access = await kubeRequest(this.#kc, {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.groups ? { groups: user.groups } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            nonResourceAttributes: { path, verb },
          },
        },
      });
    } catch (error) {
      return { allowed: false, status: 500, reason: `SubjectAccessReview failed: ${(error as Error).message}` };
    }
    if (!access.status?.allowed) {
      return {
        allowed: false,
        status: 403,
        user: user.username,
        reason: `${user.username} may not ${verb} ${path}${access.status?.reason ? `: ${access.status.reason}` : ''}`,
      };
    }
    return { allowed: true, user: user.username };
  }
}
