// The secure metrics endpoint against the real API server, as the chart deploys it: the controller runs as the chart's
// ServiceAccount with the chart's RBAC (tokenreviews/subjectaccessreviews create), serves /metrics over HTTPS, and
// lets through only bearer tokens that the API server authenticates and authorizes for `get /metrics` (the chart's
// metrics-reader ClusterRole, bound through metrics.reader.subjects). Also: what it serves passes promtool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartServiceAccountKubeconfig } from '../../support/chart-identity.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { findPrometheusTools, promtool } from '../../support/prometheus-tools.ts';
import { ControllerProcess } from '../controller/process.ts';
import { bindMetricsReaders, scrape, serviceAccountToken } from './support.ts';

let cp: ControlPlane;
let controller: ControllerProcess;
const tokens: Record<'reader' | 'nosy', string> = { reader: '', nosy: '' };

beforeAll(async () => {
  cp = await startControlPlane();
  const kubeconfig = await chartServiceAccountKubeconfig(cp);
  tokens.reader = await serviceAccountToken(cp, 'monitoring', 'prometheus');
  tokens.nosy = await serviceAccountToken(cp, 'team-a', 'nosy');
  await bindMetricsReaders(cp, [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }]);
  controller = new ControllerProcess(kubeconfig, ['--metrics-secure=true']);
  await controller.synced();
}, 300_000);

afterAll(async () => {
  await controller?.kill('SIGKILL');
  await cp?.stop();
});

describe('secure metrics: TokenReview + SubjectAccessReview against the real API server', () => {
  it('serves HTTPS with a self-signed certificate for the loopback address', async () => {
    expect(controller.metricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await scrape(`${controller.metricsUrl}/metrics`);
    expect(r.altNames).toContain('IP Address:127.0.0.1');
  });

  it('lets a ServiceAccount bound to the metrics-reader ClusterRole scrape', async () => {
    const r = await scrape(`${controller.metricsUrl}/metrics`, tokens.reader);
    expect(r.status, r.body).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    expect(r.body).toContain('# TYPE tokensync_leader gauge');
  });

  it('answers 401 without a token and with a token the API server does not know', async () => {
    const none = await scrape(`${controller.metricsUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.body).not.toContain('tokensync_');
    const forged = await scrape(`${controller.metricsUrl}/metrics`, `${tokens.reader.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect(forged.body).not.toContain('tokensync_');
  });

  it('answers 403 to an authenticated identity without the metrics-reader binding', async () => {
    const r = await scrape(`${controller.metricsUrl}/metrics`, tokens.nosy);
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('tokensync_');
  });

  it('lets the identity in once it is bound (a refusal is cached only briefly)', async () => {
    await bindMetricsReaders(cp, [
      { kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' },
      { kind: 'ServiceAccount', name: 'nosy', namespace: 'team-a' },
    ]);
    const deadline = Date.now() + 60_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await scrape(`${controller.metricsUrl}/metrics`, tokens.nosy)).status;
      if (status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(status).toBe(200);
  });

  it('serves an exposition that promtool check metrics accepts', async () => {
    const tools = findPrometheusTools();
    if ('reason' in tools) throw new Error(tools.reason); // the integration setup builds promtool
    const r = await scrape(`${controller.metricsUrl}/metrics`, tokens.reader);
    const check = await promtool(tools.binDir, ['check', 'metrics'], r.body);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  it('serves nothing but /metrics', async () => {
    const r = await scrape(`${controller.metricsUrl}/debug/pprof`, tokens.reader);
    expect(r.status).toBe(404);
  });
});
