// Which informer events are worth a reconcile (manager.ts wires them).
import { type AnyProvider, FINALIZER, type ServiceAccountToken } from '../api/v1alpha1/index.ts';
import type { InformerEvent } from '../kube/informer.ts';

/** Only status changed: written by this controller alone, never a reason to reconcile (it would hot-loop). */
export function onlyStatusChanged(old: ServiceAccountToken, current: ServiceAccountToken): boolean {
  const a = old.metadata;
  const b = current.metadata;
  return (
    a.generation === b.generation &&
    a.deletionTimestamp === b.deletionTimestamp &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {}) &&
    JSON.stringify(a.labels ?? {}) === JSON.stringify(b.labels ?? {}) &&
    JSON.stringify(a.finalizers ?? []) === JSON.stringify(b.finalizers ?? [])
  );
}

/** Whether the token still carries the revoke finalizer (in-use protection follows it). */
export function hasFinalizer(sat: ServiceAccountToken): boolean {
  return !!sat.metadata.finalizers?.includes(FINALIZER);
}

/** A provider event that may wake its tokens: anything but an update that leaves Ready as it was. */
export function providerReadyChanged(e: InformerEvent<AnyProvider>): boolean {
  if (e.type !== 'update') return true;
  const ready = (p: AnyProvider) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return ready(e.old) !== ready(e.object);
}
