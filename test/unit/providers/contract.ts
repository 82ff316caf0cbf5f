import type { Interceptable, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IssueRequest, ProviderClient, ResolvedProviderConfig, TokenRef } from '../../../src/providers/types.ts';
import {
  config,
  deps,
  expectNoLeak,
  HTTP_DATE_IN_5S,
  issueRequest,
  mockAgent,
  ORIGIN,
  OVERSIZE,
  providerError,
} from './helpers.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpContract {
  label: string;
  config: Partial<ResolvedProviderConfig>;
  make(config: ResolvedProviderConfig, d: ReturnType<typeof deps>): ProviderClient;
  issue: {
    method: Method;
    path: string;
    status: number;
    /** A success body holding `tokenValue`. */
    body: Record<string, unknown>;
    tokenValue: string;
    request?: IssueRequest;
    /** Builds a body that passes JSON but fails the schema. */
    invalidBody: Record<string, unknown>;
    /** Calls the adapter makes around the issue call (Rill lists the service's tokens), answered as the docs say. */
    supporting?: (pool: Interceptable) => void;
  };
  /** Absent: the adapter cannot revoke, revoke must throw Unsupported. */
  revoke?: { method: Method; path: string; ref: TokenRef; supporting?: (pool: Interceptable) => void };
}

/**
 * The behaviour every HTTP adapter shares through the transport, proved per adapter against its own wire:
 * success, 401/403, 404-on-revoke, 429 + Retry-After, 5xx, timeout, malformed/invalid JSON, oversize bodies,
 * and that no error carries the token value or the management credential.
 */
export function describeHttpContract(c: HttpContract): void {
  describe(`${c.label}: transport contract`, () => {
    let agent: MockAgent;
    let d: ReturnType<typeof deps>;
    let client: ProviderClient;
    const req = c.issue.request ?? issueRequest();
    const MGMT = config(c.config).credential.reveal();
    const pool = () => agent.get(ORIGIN);
    // Supporting calls (e.g. Rill's token list) are persistent interceptors: set them up once per test, however
    // many issue calls the test makes.
    let supported = false;
    const interceptIssue = () => {
      if (!supported) c.issue.supporting?.(pool());
      supported = true;
      return pool().intercept({ method: c.issue.method, path: c.issue.path });
    };
    /** The issue call itself, whatever supporting calls the adapter made around it. */
    const issueCalls = () => d.seen.filter((e) => e.operation === 'issue');

    beforeEach(() => {
      supported = false;
      agent = mockAgent();
      d = deps(agent);
      client = c.make(config(c.config), d);
    });
    afterEach(async () => {
      agent.assertNoPendingInterceptors();
      await agent.close();
    });

    it('issue returns the token wrapped in a SecretValue and reports the request', async () => {
      interceptIssue().reply(c.issue.status, c.issue.body);
      const issued = await client.issue(req);
      expect(issued.value.reveal()).toBe(c.issue.tokenValue);
      expect(String(issued.value)).toBe('[REDACTED]');
      expect(JSON.stringify(issued)).not.toContain(c.issue.tokenValue);
      expect(issued.id).not.toContain(c.issue.tokenValue);
      expect(issueCalls()).toEqual([{ operation: 'issue', statusCode: c.issue.status }]);
    });

    it('401 is Permanent, carries the vendor message and never the management credential', async () => {
      interceptIssue().reply(401, { message: `bad key ${MGMT}` });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Permanent');
      expect(error.statusCode).toBe(401);
      expect(error.message).toContain('bad key');
      expect(error.retryable).toBe(false);
      expectNoLeak(error, MGMT);
    });

    it('403 is Permanent and quotes the vendor (e.g. IOMETE "same group")', async () => {
      interceptIssue().reply(403, {
        message: 'You must be in the same group as this service account to view and manage tokens',
      });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Permanent');
      expect(error.message).toContain('same group');
      expect(error.message).toContain(c.label);
    });

    it('429 with Retry-After seconds is RateLimited after that many seconds', async () => {
      interceptIssue().reply(429, { message: 'slow down' }, { headers: { 'retry-after': '7' } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('RateLimited');
      expect(error.retryAfterMs).toBe(7000);
    });

    it('429 with an HTTP-date Retry-After is RateLimited until that date', async () => {
      interceptIssue().reply(429, {}, { headers: { 'retry-after': HTTP_DATE_IN_5S } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('RateLimited');
      expect(error.retryAfterMs).toBe(5000);
    });

    it('429 without Retry-After defaults to 1 s', async () => {
      interceptIssue().reply(429, {});
      expect((await providerError(client.issue(req))).retryAfterMs).toBe(1000);
    });

    it('5xx is Transient', async () => {
      interceptIssue().reply(503, 'upstream down');
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Transient');
      expect(error.statusCode).toBe(503);
      expect(error.retryable).toBe(true);
    });

    it('a network failure is Transient and reported as an error to onRequest', async () => {
      interceptIssue().replyWithError(new Error('ECONNRESET simulated'));
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Transient');
      expect(issueCalls()).toEqual([{ operation: 'issue', statusCode: 'error' }]);
    });

    it('a response slower than timeoutMs is a Transient timeout', async () => {
      client = c.make(config({ ...c.config, timeoutMs: 50 }), d);
      interceptIssue().reply(c.issue.status, c.issue.body).delay(1000);
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Transient');
      expect(error.message).toMatch(/timed out after 50 ms/);
    });

    it("the caller's abort propagates as the caller's reason, not as an upstream error", async () => {
      interceptIssue().reply(c.issue.status, c.issue.body).delay(1000);
      const controller = new AbortController();
      const promise = client.issue(req, controller.signal);
      setTimeout(() => controller.abort(new Error('reconcile cancelled')), 20);
      await expect(promise).rejects.toThrow('reconcile cancelled');
    });

    it('truncated JSON is Malformed and the message does not quote the body (which holds the token)', async () => {
      const text = JSON.stringify(c.issue.body).slice(0, -3);
      interceptIssue().reply(c.issue.status, text, { headers: { 'content-type': 'application/json' } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Malformed');
      expect(error.message).toMatch(/issue: response is not valid JSON/);
      expectNoLeak(error, c.issue.tokenValue.slice(0, 24), MGMT);
    });

    it('JSON of the wrong shape is Malformed and names the operation', async () => {
      interceptIssue().reply(c.issue.status, c.issue.invalidBody);
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Malformed');
      expect(error.message).toContain(`${c.label} issue`);
    });

    it('a body over 1 MiB is Malformed (streamed, no content-length)', async () => {
      interceptIssue().reply(c.issue.status, { ...c.issue.body, padding: OVERSIZE });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Malformed');
      expect(error.message).toMatch(/larger than|too large/);
      expectNoLeak(error, c.issue.tokenValue);
    });

    it('a declared content-length over 1 MiB is Malformed before reading', async () => {
      interceptIssue().reply(c.issue.status, c.issue.body, { headers: { 'content-length': String(2 * 1024 * 1024) } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Malformed');
    });

    it('an error body over 1 MiB is read only in part and still maps by status (5xx Transient, 403 Permanent)', async () => {
      interceptIssue().reply(503, OVERSIZE);
      expect((await providerError(client.issue(req))).code).toBe('Transient');
      interceptIssue().reply(403, OVERSIZE, { headers: { 'content-length': String(OVERSIZE.length) } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Permanent');
      expect(error.statusCode).toBe(403);
    });

    it('a redirect is Permanent, names only the Location host and is not followed', async () => {
      interceptIssue().reply(302, '', { headers: { location: 'http://169.254.169.254/latest/meta-data/?t=secret' } });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Permanent');
      expect(error.message).toContain('HTTP 302 redirect to 169.254.169.254 not followed');
      expect(error.message).not.toContain('meta-data');
      // No interceptor for the Location: following it would fail the test with a MockAgent "not found" error.
    });

    it('an error body echoing a token or the credential is redacted', async () => {
      interceptIssue().reply(400, {
        error: `duplicate token ${c.issue.tokenValue} for key ${MGMT} Bearer ${MGMT}`,
      });
      const error = await providerError(client.issue(req));
      expect(error.code).toBe('Permanent');
      expectNoLeak(error, c.issue.tokenValue, MGMT);
    });

    const revoke = c.revoke;
    if (revoke) {
      const interceptRevoke = () => {
        revoke.supporting?.(pool());
        return pool().intercept({ method: revoke.method, path: revoke.path });
      };
      it('revoke succeeds on 2xx', async () => {
        interceptRevoke().reply(204);
        await expect(client.revoke(revoke.ref)).resolves.toBeUndefined();
      });

      it('revoke of a token already gone (404) succeeds', async () => {
        interceptRevoke().reply(404, { message: 'not found' });
        await expect(client.revoke(revoke.ref)).resolves.toBeUndefined();
      });

      it('revoke on 5xx is Transient', async () => {
        interceptRevoke().reply(500, {});
        expect((await providerError(client.revoke(revoke.ref))).code).toBe('Transient');
      });
    } else {
      it('revoke is Unsupported and makes no request', async () => {
        expect(client.capabilities.revoke).toBe(false);
        expect((await providerError(client.revoke({ id: 'x', name: 'x' }))).code).toBe('Unsupported');
        expect(d.seen).toEqual([]);
      });
    }
  });
}
