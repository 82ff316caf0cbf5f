/**
 * Where the controllers record Events: the kube/events.ts recorder in production, a list in tests. Recording never
 * throws and never blocks a reconcile.
 */
export interface EventSink {
  record(
    object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; uid?: string } },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void;
}
