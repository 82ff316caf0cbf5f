import { inspect } from 'node:util';
import { MockAgent } from 'undici';
import { expect } from 'vitest';
import { ProviderError } from '../../../src/providers/errors.ts';
import { SecretValue } from '../../../src/providers/secret-value.ts';
import type { IssueRequest, ProviderDeps, ResolvedProviderConfig } from '../../../src/providers/types.ts';

export const ORIGIN = 'https://api.test';
export const MGMT_KEY = 'mgmt_key_DO_NOT_LEAK_0123456789';

export function mockAgent(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

export interface RecordedRequest {
  operation: string;
  statusCode: number | 'error';
}

export function deps(agent: MockAgent, extra: Partial<ProviderDeps> = {}): ProviderDeps & { seen: RecordedRequest[] } {
  const seen: RecordedRequest[] = [];
  return {
    dispatcher: agent,
    clock: { now: () => Date.parse('2030-01-01T00:00:00Z') },
    onRequest: (e) => seen.push({ operation: e.operation, statusCode: e.statusCode }),
    seen,
    ...extra,
  };
}

export function config(overrides: Partial<ResolvedProviderConfig>): ResolvedProviderConfig {
  return {
    type: 'reference',
    url: ORIGIN,
    credential: new SecretValue(MGMT_KEY),
    allowInsecureHttp: false,
    rateLimit: { requestsPerSecond: 100, burst: 100 },
    timeoutMs: 2000,
    ...overrides,
  };
}

export function issueRequest(extra: Partial<IssueRequest> = {}): IssueRequest {
  return {
    serviceAccount: 'etl-bot',
    name: 'ts-ns-tok-1',
    lifetimeSeconds: 3600,
    readOnly: false,
    scopes: ['read'],
    attributes: {},
    owner: { namespace: 'team-a', name: 'etl', uid: 'uid-123' },
    ...extra,
  };
}

/** Awaits a promise expected to reject with a ProviderError and returns it. */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (ProviderError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError, the call succeeded');
}

/** The error, its message, its JSON and its inspect output carry none of the secrets. */
export function expectNoLeak(error: unknown, ...secrets: string[]): void {
  const surfaces = [String(error), inspect(error, { depth: 5 }), JSON.stringify(error) ?? ''];
  if (error instanceof Error) surfaces.push(error.message, error.stack ?? '');
  for (const secret of secrets) {
    for (const surface of surfaces) expect(surface).not.toContain(secret);
  }
}

export const HTTP_DATE_IN_5S = new Date(Date.parse('2030-01-01T00:00:05Z')).toUTCString();
export const OVERSIZE = 'x'.repeat(1024 * 1024 + 10);
