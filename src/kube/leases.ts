// Typed access to coordination.k8s.io/v1 Leases (leader election, shard and member Leases) over kubeRequest, so
// neither leader election nor sharding loads @kubernetes/client-node (docs/decisions/0016).
import { type KubeConfig, kubeRequest } from './client.ts';
import { paths } from './paths.ts';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with six fractional digits. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: LeaseSpec;
}

/** A MicroTime as the API server wants it: exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaseApi {
  readonly #kc: KubeConfig;
  readonly #namespace: string;

  constructor(kc: KubeConfig, namespace: string) {
    this.#kc = kc;
    this.#namespace = namespace;
  }

  #path(name?: string): string {
    return name === undefined ? paths.leases(this.#namespace) : paths.lease(this.#namespace, name);
  }

  get(name: string): Promise<Lease> {
    return kubeRequest<Lease>(this.#kc, { method: 'GET', path: this.#path(name) });
  }

  create(lease: Lease): Promise<Lease> {
    return kubeRequest<Lease>(this.#kc, {
      method: 'POST',
      path: this.#path(),
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
    });
  }

  /** PUT guarded by the resourceVersion in `lease.metadata` (409 when someone wrote in between). */
  replace(lease: Lease): Promise<Lease> {
    return kubeRequest<Lease>(this.#kc, {
      method: 'PUT',
      path: this.#path(lease.metadata.name),
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease },
    });
  }

  /** Deletes the Lease if it is still at `resourceVersion` (409 otherwise, 404 when gone). */
  async delete(name: string, resourceVersion: string | undefined): Promise<void> {
    await kubeRequest(this.#kc, {
      method: 'DELETE',
      path: this.#path(name),
      body: resourceVersion ? { preconditions: { resourceVersion } } : {},
    });
  }

  async list(labelSelector: string): Promise<Lease[]> {
    const list = await kubeRequest<{ items: Lease[] }>(this.#kc, {
      method: 'GET',
      path: this.#path(),
      query: { labelSelector },
    });
    return list.items;
  }
}
