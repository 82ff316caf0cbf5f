// Shared setup of the controller integration tests: a real API server, the reference credentials API (in-process
// server on loopback), and the controller's Manager running in this process against both — authenticated as the
// Helm chart's ServiceAccount with only the chart's RBAC, so every lifecycle test also proves least privilege.
import { request } from 'undici';
import type { ServiceAccountToken } from '../../../src/api/v1alpha1/index.ts';
import { Manager } from '../../../src/controller/manager.ts';
import type { EventSink } from '../../../src/controller/ports.ts';
import { type CredentialsApiOptions, startCredentialsApi } from '../../../src/credentials-api/index.ts';
import { isNotFound, kubeRequest } from '../../../src/kube/client.ts';
import { type KubeConfig, loadKubeConfig } from '../../../src/kube/kubeconfig.ts';
import { loadHashKey, SecretHasher } from '../../../src/kube/secrets.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { chartServiceAccountKubeconfig, RELEASE_NAMESPACE } from '../../support/chart-identity.ts';
import { type ControlPlane, startControlPlane } from '../../support/control-plane.ts';
import { LOOPBACK_EGRESS } from '../../support/egress.ts';
import { LogCapture } from './log-capture.ts';

export interface RecordedEvent {
  name: string;
  type: string;
  reason: string;
  message: string;
}

export class Harness {
  cp!: ControlPlane;
  api!: { url: string; adminKey: string; close(): Promise<void> };
  kc!: KubeConfig;
  manager: Manager | undefined;
  #run: { abort: AbortController; done: Promise<void> } | undefined;
  readonly events: RecordedEvent[] = [];
  readonly logs = new LogCapture();
  metrics = new Metrics({ processMetrics: false });
  random = () => 0;

  /** The identity the controller runs as: the Helm chart's ServiceAccount, holding only the chart's RBAC. */
  controllerKubeConfig!: KubeConfig;
  controllerKubeconfigPath!: string;

  /** Whether the chart was rendered with restartTargets.enabled (the RBAC and the controller option follow it). */
  restartsEnabled = false;

  /** `chart` are helm --set values the ServiceAccount's RBAC is rendered with, e.g. restartTargets.enabled=true. */
  async start(
    options: {
      auditWrites?: boolean;
      controllerManager?: boolean;
      api?: CredentialsApiOptions;
      chart?: string[];
      auditUsers?: string[];
      admissionPlugins?: string[];
      /** Namespaces to create before the chart's RBAC is applied (namespaced mode puts Roles in them). */
      namespaces?: string[];
      /** Run kube-controller-manager with these controllers besides the default ones (e.g. deployment, replicaset). */
      controllers?: string[];
    } = {},
  ): Promise<void> {
    this.cp = await startControlPlane({
      auditWrites: options.auditWrites ?? false,
      controllerManager: (options.controllerManager ?? false) || !!options.controllers,
      ...(options.controllers ? { controllers: options.controllers } : {}),
      ...(options.auditUsers ? { auditUsers: options.auditUsers } : {}),
      ...(options.admissionPlugins ? { admissionPlugins: options.admissionPlugins } : {}),
    });
    for (const namespace of options.namespaces ?? []) await this.cp.kubectl(['create', 'namespace', namespace]);
    this.kc = this.cp.kubeConfig;
    this.restartsEnabled = (options.chart ?? []).includes('restartTargets.enabled=true');
    this.controllerKubeconfigPath = await chartServiceAccountKubeconfig(
      this.cp,
      (options.chart ?? []).flatMap((v) => ['--set', v]),
    );
    this.controllerKubeConfig = loadKubeConfig({ kubeconfig: this.controllerKubeconfigPath });
    this.api = await startCredentialsApi({ rateLimit: false, ...options.api });
  }

  async stop(): Promise<void> {
    await this.stopController();
    await this.api?.close();
    await this.cp?.stop();
  }

  async startController(): Promise<Manager> {
    const sink: EventSink = {
      record: (object, type, reason, message) =>
        this.events.push({ name: object.metadata.name, type, reason, message }),
    };
    const manager = new Manager({
      kubeConfig: this.controllerKubeConfig,
      // As `tokensync controller` does: the hash key lives in the release namespace, created on first start.
      hasher: new SecretHasher(await loadHashKey(this.controllerKubeConfig, RELEASE_NAMESPACE, 'tokensync-hash-key')),
      maxConcurrentReconciles: 4,
      logger: createLogger({ level: 'debug', destination: this.logs.stream }),
      metrics: this.metrics,
      events: sink,
      random: this.random,
      // The reference server listens on 127.0.0.1: allowed explicitly, as --egress-allow=127.0.0.1 would.
      egress: LOOPBACK_EGRESS,
      restartsEnabled: this.restartsEnabled,
    });
    await manager.start();
    const abort = new AbortController();
    this.#run = { abort, done: manager.run(abort.signal) };
    this.manager = manager;
    return manager;
  }

  async stopController(): Promise<void> {
    if (!this.manager) return;
    this.#run?.abort.abort();
    await this.#run?.done;
    await this.manager.stop();
    this.manager = undefined;
  }

  async apply(obj: Record<string, unknown>): Promise<void> {
    const meta = obj['metadata'] as { name: string; namespace?: string };
    const apiVersion = obj['apiVersion'] as string;
    const kind = obj['kind'] as string;
    const plural = `${kind.toLowerCase()}s`;
    const base = apiVersion === 'v1' ? '/api/v1' : `/apis/${apiVersion}`;
    const ns = meta.namespace ? `/namespaces/${meta.namespace}` : '';
    await kubeRequest(this.kc, {
      method: 'PATCH',
      path: `${base}${ns}/${plural}/${meta.name}`,
      query: { fieldManager: 'test', force: true },
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  async setupNamespace(namespace: string): Promise<void> {
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    await this.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'reference-admin', namespace, labels: { 'tokensync.io/credential': 'true' } },
      stringData: { token: this.api.adminKey },
    });
    await this.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'CredentialsProvider',
      metadata: { name: 'reference', namespace },
      spec: {
        type: 'reference',
        url: this.api.url,
        allowInsecureHttp: true,
        auth: { secretRef: { name: 'reference-admin', key: 'token' } },
        rateLimit: { requestsPerSecond: 200, burst: 200 },
      },
    });
  }

  tokenSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    // The former field name by default (still accepted); a test that sets the new one gets it alone.
    const account = 'upstreamServiceAccount' in overrides ? {} : { serviceAccount: 'sa-test' };
    return { providerRef: { name: 'reference' }, ...account, lifetime: '720h', ...overrides };
  }

  async createToken(namespace: string, name: string, spec: Record<string, unknown> = {}): Promise<void> {
    await this.apply({
      apiVersion: 'tokensync.io/v1alpha1',
      kind: 'ServiceAccountToken',
      metadata: { name, namespace },
      spec: this.tokenSpec(spec),
    });
  }

  async getToken(namespace: string, name: string): Promise<ServiceAccountToken | undefined> {
    try {
      return await kubeRequest<ServiceAccountToken>(this.kc, {
        method: 'GET',
        path: `/apis/tokensync.io/v1alpha1/namespaces/${namespace}/serviceaccounttokens/${name}`,
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async deleteToken(namespace: string, name: string): Promise<void> {
    await kubeRequest(this.kc, {
      method: 'DELETE',
      path: `/apis/tokensync.io/v1alpha1/namespaces/${namespace}/serviceaccounttokens/${name}`,
    });
  }

  async getSecretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    try {
      const secret = await kubeRequest<{ data?: Record<string, string> }>(this.kc, {
        method: 'GET',
        path: `/api/v1/namespaces/${namespace}/secrets/${name}`,
      });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async introspect(token: string): Promise<{ active: boolean; readOnly?: boolean; name?: string }> {
    const res = await request(`${this.api.url}/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    return (await res.body.json()) as { active: boolean };
  }

  async admin<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await request(`${this.api.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.api.adminKey}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  stats(): Promise<{ mints: number; revokes: number; requests: number }> {
    return this.admin('GET', '/api/v1/audit/stats');
  }

  liveTokens(): Promise<Array<{ serviceAccountId: string; name: string }>> {
    return this.admin('GET', '/api/v1/audit/live-tokens');
  }
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function isReady(sat: ServiceAccountToken | undefined): boolean {
  return sat?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
