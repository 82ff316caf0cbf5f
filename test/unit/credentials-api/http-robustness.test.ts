import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from './helpers.ts';

let t: TestApi;
afterEach(async () => {
  await t?.close();
});

/** Sends raw bytes and returns what came back, for requests an HTTP client library would refuse to build. */
function raw(url: string, payload: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(payload));
    let data = '';
    socket.on('data', (chunk) => {
      data += chunk.toString();
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('HTTP robustness', () => {
  it('GET /healthz answers ok without a key', async () => {
    t = await startTestApi();
    const res = await t.call('GET', '/healthz', { key: null });
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('answers 413 for a body over 64 KiB and keeps serving on the same connection', async () => {
    t = await startTestApi();
    const big = JSON.stringify({ name: 'x', description: 'd'.repeat(64 * 1024) });
    const res = await t.call('POST', t.tokens('sa-1'), { body: big });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: 'payload_too_large', message: expect.any(String) });
    // 1 MiB: drained, not a connection reset.
    const bigger = await t.call('POST', t.tokens('sa-1'), { body: 'x'.repeat(1024 * 1024) });
    expect(bigger.status).toBe(413);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
    expect((await t.call('GET', t.tokens('sa-1'))).status).toBe(404);
  });

  it('survives a huge declared body (answers 413 or drops the connection) and keeps serving', async () => {
    t = await startTestApi();
    const huge = 'x'.repeat(9 * 1024 * 1024);
    const outcome = await t.call('POST', t.tokens('sa-1'), { body: huge }).then(
      (res) => res.status,
      () => 'connection error',
    );
    expect([413, 'connection error']).toContain(outcome);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    t = await startTestApi();
    const res = await t.call('POST', t.tokens('sa-1'), { body: '{"name": "x",' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'invalid_json', message: 'Request body is not valid JSON' });
  });

  it('answers 404 for unknown routes and 405 with Allow for wrong methods', async () => {
    t = await startTestApi();
    for (const path of ['/', '/api/v1', '/api/v1/auth/service-accounts/sa/tokens/x/extra', '/api/v2/x']) {
      const res = await t.call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.json.error).toBe('not_found');
    }
    const res = await t.call('PUT', t.tokens('sa-1'), { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers['allow']).toBe('GET, POST');
    expect(res.json.error).toBe('method_not_allowed');
    expect((await t.call('POST', '/healthz')).status).toBe(405);
  });

  it('answers 400 for broken percent-encoding in the path', async () => {
    t = await startTestApi();
    const res = await t.call('GET', '/api/v1/auth/service-accounts/%E0%A4%A/tokens');
    expect(res.status).toBe(400);
    expect(res.json.error).toBe('invalid_path');
  });

  it('survives a garbage request line and keeps serving', async () => {
    t = await startTestApi();
    const answer = await raw(t.api.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });

  it('never puts a token value into an error body', async () => {
    t = await startTestApi();
    const { token } = await t.mint('sa-1', { name: 'secret' });
    const errors = [
      await t.call('POST', t.tokens('sa-1'), { body: { name: token.repeat(3) } }),
      await t.call('POST', t.tokens('sa-1'), { body: { name: 'x', description: 1, extra: token } }),
      await t.call('POST', t.tokens('sa-1'), { body: { name: 'x', scopes: [token, 3] } }),
      await t.call('GET', `${t.tokens('sa-1')}/${token}`),
      await t.call('GET', `/api/v1/auth/service-accounts/${token}/tokens`),
      await t.call('GET', t.tokens('sa-1'), { key: token }),
      await t.call('POST', t.tokens('sa-1'), { body: { name: 'secret' } }),
    ];
    for (const res of errors) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.text).not.toContain(token);
      expect(res.text).not.toContain(token.slice('rsa_live_'.length, 20));
      expect(Object.keys(res.json)).toEqual(['error', 'message']);
    }
  });

  it('treats a trailing slash like none', async () => {
    t = await startTestApi();
    await t.mint('sa-1', { name: 'x' });
    expect((await t.call('GET', `${t.tokens('sa-1')}/`)).json).toHaveLength(1);
  });
});
