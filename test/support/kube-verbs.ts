// Generic Kubernetes verbs for tests: any kind, found through discovery. The controller and the plugin never need
// them (they use the typed access in src/kube/), so they live with the test code.
import { KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { ObjectMeta } from '../../src/api/v1alpha1/index.ts';
import { kubeRequest } from '../../src/kube/client.ts';
import type { KubeConfig } from '../../src/kube/kubeconfig.ts';

export type { ObjectMeta };

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** Identifies one object: enough to find its REST path through discovery. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Discovery: apiVersion + kind → REST path (cached per KubeConfig by client-node's KubernetesObjectApi).

class PathResolver extends KubernetesObjectApi {
  static create(kc: KubeConfig): PathResolver {
    const resolver = kc.makeApiClient(PathResolver);
    // Only used for namespaced kinds given without a namespace: the kubeconfig context's namespace, as kubectl does.
    resolver.setDefaultNamespace(kc);
    return resolver;
  }

  pathOf(ref: ObjectRef, collection = false): Promise<string> {
    const spec = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } };
    return this.specUriPath(spec, collection ? 'create' : 'read');
  }
}

const resolvers = new WeakMap<KubeConfig, PathResolver>();

/** The REST path of an object (or of its collection), found through discovery once per apiVersion. */
export async function objectPath(kc: KubeConfig, ref: ObjectRef, collection = false): Promise<string> {
  let resolver = resolvers.get(kc);
  if (!resolver) {
    resolver = PathResolver.create(kc);
    resolvers.set(kc, resolver);
  }
  return resolver.pathOf(ref, collection);
}

function refOf(obj: ObjectRef | KubeObject): ObjectRef {
  if ('metadata' in obj) {
    const o = obj as KubeObject;
    return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
  }
  return obj;
}

// ---------------------------------------------------------------------------------------------------------------
// Verbs

export async function getObject<T = KubeObject>(kc: KubeConfig, ref: ObjectRef): Promise<T> {
  return kubeRequest<T>(kc, { method: 'GET', path: await objectPath(kc, ref) });
}

export interface PatchOptions {
  /** Optimistic lock: the API server rejects the patch with 409 if the object changed since this version. */
  resourceVersion?: string;
  fieldManager?: string;
}

function withPrecondition(patch: Record<string, unknown>, resourceVersion?: string): Record<string, unknown> {
  if (!resourceVersion) return patch;
  const metadata = (patch['metadata'] as Record<string, unknown> | undefined) ?? {};
  return { ...patch, metadata: { ...metadata, resourceVersion } };
}

/** JSON merge patch of the object (not its status). */
export async function patchMerge<T = KubeObject>(
  kc: KubeConfig,
  ref: ObjectRef,
  patch: Record<string, unknown>,
  options: PatchOptions = {},
): Promise<T> {
  return kubeRequest<T>(kc, {
    method: 'PATCH',
    path: await objectPath(kc, ref),
    query: { fieldManager: options.fieldManager },
    body: withPrecondition(patch, options.resourceVersion),
    contentType: PatchStrategy.MergePatch,
  });
}

/** Merge patch of the /status subresource: `{ status }` is sent, plus metadata.resourceVersion when given. */
export async function patchStatus<T = KubeObject>(
  kc: KubeConfig,
  ref: ObjectRef,
  status: Record<string, unknown>,
  options: PatchOptions = {},
): Promise<T> {
  return kubeRequest<T>(kc, {
    method: 'PATCH',
    path: `${await objectPath(kc, ref)}/status`,
    query: { fieldManager: options.fieldManager },
    body: withPrecondition({ status }, options.resourceVersion),
    contentType: PatchStrategy.MergePatch,
  });
}

/**
 * Server-side apply: the API server merges `obj` as the fields owned by `fieldManager`. JSON is valid YAML, so the
 * body is sent as JSON with the apply-patch+yaml content type.
 */
export async function serverSideApply<T = KubeObject>(
  kc: KubeConfig,
  obj: KubeObject,
  options: { fieldManager: string; force?: boolean },
): Promise<T> {
  // managedFields in an apply body is rejected; a resourceVersion, if the caller sets one, stays: it makes the apply
  // conditional on that version (optimistic lock).
  const { managedFields: _mf, ...metadata } = obj.metadata as ObjectMeta & { managedFields?: unknown };
  return kubeRequest<T>(kc, {
    method: 'PATCH',
    path: await objectPath(kc, refOf(obj)),
    query: { fieldManager: options.fieldManager, force: options.force ? true : undefined },
    body: { ...obj, metadata },
    contentType: PatchStrategy.ServerSideApply,
  });
}

export async function deleteObject(
  kc: KubeConfig,
  ref: ObjectRef,
  options: {
    propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
    preconditions?: { uid?: string; resourceVersion?: string };
  } = {},
): Promise<void> {
  await kubeRequest(kc, {
    method: 'DELETE',
    path: await objectPath(kc, ref),
    body: {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      propagationPolicy: options.propagationPolicy,
      preconditions: options.preconditions,
    },
  });
}
