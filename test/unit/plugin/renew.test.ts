import { describe, expect, it } from 'vitest';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { parseTimeout, renewStamp, renewState } from '../../../src/cli/plugin/renew.ts';

const sat = (status: ServiceAccountToken['status']) => ({ status }) as ServiceAccountToken;
const ready = (status: 'True' | 'False') => [
  {
    type: 'Ready',
    status,
    reason: status === 'True' ? 'Issued' : 'UpstreamError',
    message: 'm',
    lastTransitionTime: '',
  },
];

describe('renew', () => {
  it('parses Go-style timeouts', () => {
    expect(parseTimeout('60s')).toBe(60_000);
    expect(parseTimeout('2m')).toBe(120_000);
    expect(parseTimeout('1m30s')).toBe(90_000);
    expect(parseTimeout('500ms')).toBe(500);
    for (const bad of ['', '60', 'soon', '1m 30s', '-5s']) expect(() => parseTimeout(bad), bad).toThrow(/invalid/);
  });

  it('stamps RFC 3339 UTC with milliseconds, so two requests in one second differ', () => {
    expect(renewStamp(new Date('2025-06-01T12:00:00.123Z'))).toBe('2025-06-01T12:00:00.123Z');
  });

  it('is done only when the controller recorded this request and Ready is True', () => {
    const stamp = '2025-06-01T12:00:00.123Z';
    expect(renewState(sat({ conditions: ready('True') }), stamp)).toMatchObject({ done: false });
    expect(renewState(sat({ conditions: ready('True'), lastRenewRequest: 'older' }), stamp)).toMatchObject({
      done: false,
    });
    expect(renewState(sat({ conditions: ready('False'), lastRenewRequest: stamp }), stamp)).toEqual({
      done: false,
      why: 'Ready=False (UpstreamError: m)',
    });
    expect(renewState(sat({ conditions: ready('True'), lastRenewRequest: stamp }), stamp)).toEqual({ done: true });
  });
});
