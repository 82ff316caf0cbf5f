import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { isConflict, isGone, isNotFound, kubeRequest, statusCodeOf } from '../../../src/kube/client.ts';
import { EventRecorder, truncateMessage } from '../../../src/kube/events.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

describe('error predicates', () => {
  it('recognise client-node ApiExceptions by status code', () => {
    expect(isConflict(new ApiException(409, 'x', {}, {}))).toBe(true);
    expect(isNotFound(new ApiException(404, 'x', {}, {}))).toBe(true);
    expect(isGone(new ApiException(410, 'x', {}, {}))).toBe(true);
    expect(isConflict(new ApiException(404, 'x', {}, {}))).toBe(false);
  });

  it("recognise the plain { statusCode } errors client-node's Watch throws", () => {
    expect(isGone(Object.assign(new Error('Gone'), { statusCode: 410 }))).toBe(true);
  });

  it('are false, and do not throw, for anything else', () => {
    for (const e of [undefined, null, 'boom', 42, new Error('x'), { code: 'ECONNREFUSED' }]) {
      expect(isConflict(e) || isNotFound(e) || isGone(e)).toBe(false);
      expect(statusCodeOf(e)).toBeUndefined();
    }
  });
});

describe('kubeRequest', () => {
  it('sends credentials and JSON, and throws an ApiException carrying the Status body on errors', async () => {
    const seen: Array<{ method?: string; auth?: string; type?: string; body: string; url?: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({
          method: req.method,
          auth: req.headers.authorization,
          type: req.headers['content-type'],
          body,
          url: req.url,
        });
        res.writeHead(409, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' }),
        );
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const kc = kubeConfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    let caught: unknown;
    try {
      await kubeRequest(kc, {
        method: 'PATCH',
        path: '/api/v1/namespaces/ns/configmaps/a',
        query: { fieldManager: 'tokensync', force: undefined },
        body: { data: { k: 'v' } },
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      caught = err;
    }
    expect(isConflict(caught)).toBe(true);
    expect((caught as ApiException<{ reason: string }>).body.reason).toBe('Conflict');
    expect(seen).toEqual([
      {
        method: 'PATCH',
        auth: 'Bearer secret-token',
        type: 'application/merge-patch+json',
        body: '{"data":{"k":"v"}}',
        url: '/api/v1/namespaces/ns/configmaps/a?fieldManager=tokensync',
      },
    ]);
  });
});

describe('EventRecorder without an API server', () => {
  it('resolves and logs instead of throwing when the API server is unreachable', async () => {
    const warnings: string[] = [];
    const rec = new EventRecorder({
      kubeConfig: kubeConfigFor('http://127.0.0.1:1'),
      component: 'tokensync',
      instance: 'test',
      logger: { warn: (_o, msg) => warnings.push(msg ?? '') },
    });
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns', uid: 'u' } };
    await expect(rec.record(obj, 'Warning', 'UpstreamError', 'x')).resolves.toBeUndefined();
    expect(warnings).toEqual(['failed to record event']);
  });

  it('truncates messages to 1024 characters', () => {
    expect(truncateMessage('short')).toBe('short');
    const long = truncateMessage('y'.repeat(2000));
    expect(long).toHaveLength(1024);
    expect(long.endsWith('...')).toBe(true);
  });
});
