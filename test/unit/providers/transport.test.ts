import { describe, expect, it } from 'vitest';
import { PROVIDER_TYPES } from '../../../src/api/v1alpha1/provider.ts';
import { iometeProvider } from '../../../src/providers/iomete/index.ts';
import {
  createProviderClient,
  providerRegistry,
  registered,
  registeredProviderTypes,
} from '../../../src/providers/registry.ts';
import { decodeJwtClaims, fingerprint, jwtExpiry, parseExpiry } from '../../../src/providers/token-utils.ts';
import { redact, vendorMessage } from '../../../src/providers/transport/redact.ts';
import { parseRetryAfter } from '../../../src/providers/transport/retry-after.ts';
import { config } from './helpers.ts';

describe('Retry-After parsing', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  it('reads delay-seconds', () => expect(parseRetryAfter('12', now)).toBe(12_000));
  it('reads an HTTP-date relative to now', () =>
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:30 GMT', now)).toBe(30_000));
  it('a past date means retry now', () => expect(parseRetryAfter('Mon, 31 Dec 2029 00:00:00 GMT', now)).toBe(0));
  it('defaults to 1 s when absent or garbage', () => {
    expect(parseRetryAfter(undefined, now)).toBe(1000);
    expect(parseRetryAfter('soon', now)).toBe(1000);
  });
  it('caps absurd values at a day', () => expect(parseRetryAfter('99999999', now)).toBe(24 * 3600 * 1000));
});

describe('redaction of vendor messages', () => {
  it('removes known token shapes, bearer values, long opaque runs and given secrets', () => {
    const text =
      'bad sa_live_abc123 rill_svc_2Dws32dc2FxT eyJhbGciOi.eyJzdWIiOiJ4In0.sig Bearer abc.def mykey1234 ' +
      'A'.repeat(40);
    const out = redact(text, ['mykey1234']);
    for (const leak of ['sa_live_abc123', 'rill_svc_', 'eyJhbGciOi', 'abc.def', 'mykey1234', 'A'.repeat(40)]) {
      expect(out).not.toContain(leak);
    }
  });
  it('keeps vendor words: only values are redacted, never the word "token"', () => {
    for (const text of [
      'auth token is invalid',
      'Token expired.',
      'invalid bearer token',
      'Bearer realm="rill"',
      'token 3f1e2d4c-5b6a-4798-8a1b-2c3d4e5f6a7b not found',
    ]) {
      expect(redact(text)).toBe(text);
    }
    expect(redact('Authorization: Bearer abc123def456 was refused')).toBe(
      'Authorization: Bearer [REDACTED] was refused',
    );
    expect(redact('Token Zm9vYmFyOmJheg==')).toBe('Token [REDACTED]');
  });
  it('picks the JSON message field and truncates', () => {
    expect(vendorMessage('{"error":{"message":"You must be in the same group"}}')).toBe(
      'You must be in the same group',
    );
    expect(vendorMessage('x '.repeat(400)).length).toBeLessThanOrEqual(301);
  });
  it('extracts the detail of nested error bodies instead of quoting JSON', () => {
    expect(vendorMessage('{"errors":[{"status":"403","title":"Forbidden","detail":"auth token is invalid"}]}')).toBe(
      'auth token is invalid',
    );
    expect(vendorMessage('{"errors":[{"detail":"name is taken"},{"title":"maxRps too high"}]}')).toBe(
      'name is taken; maxRps too high',
    );
    expect(vendorMessage('{"code":16,"message":"auth token is invalid","details":[]}')).toBe('auth token is invalid');
    expect(vendorMessage('{"error":"invalid_client","error_description":"client secret revoked"}')).toBe(
      'client secret revoked',
    );
    expect(vendorMessage('{"status":"fail","data":{"id":7}}')).toBe('');
    expect(vendorMessage('"plain JSON string"')).toBe('plain JSON string');
  });
  it('reduces an HTML error page to its text', () => {
    expect(vendorMessage('<html><head><style>p{}</style></head><body><h1>502 Bad Gateway</h1></body></html>')).toBe(
      '502 Bad Gateway',
    );
  });
});

describe('token utilities', () => {
  it('decodes JWT claims without verifying and reads exp', () => {
    const token = `h.${Buffer.from('{"exp":1893456000,"jti":"j"}').toString('base64url')}.s`;
    expect(decodeJwtClaims(token)).toEqual({ exp: 1893456000, jti: 'j' });
    expect(jwtExpiry(token)?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(decodeJwtClaims('not-a-jwt')).toBeUndefined();
  });
  it('fingerprints are stable, short and do not contain the value', () => {
    expect(fingerprint('secret')).toBe(fingerprint('secret'));
    expect(fingerprint('secret')).toMatch(/^sha256:[0-9a-f]{16}$/);
  });
  it('parses RFC 3339 and epoch seconds; zero times mean no expiry', () => {
    expect(parseExpiry('2030-01-01T00:00:00Z')?.getTime()).toBe(Date.parse('2030-01-01T00:00:00Z'));
    expect(parseExpiry(1893456000)?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(parseExpiry('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(parseExpiry(null)).toBeUndefined();
  });
});

describe('provider registry', () => {
  it('registers every CRD provider type exactly once', () => {
    expect(registeredProviderTypes().sort()).toEqual([...PROVIDER_TYPES].sort());
  });
  it('throws on a duplicate registration', () => {
    expect(() => providerRegistry([registered(iometeProvider), registered(iometeProvider)])).toThrow(
      /"iomete" is already registered/,
    );
  });
  it('creates the adapter matching config.type', () => {
    for (const type of ['reference', 'iomete'] as const) {
      expect(createProviderClient(config({ type }), {}).type).toBe(type);
    }
  });
});
