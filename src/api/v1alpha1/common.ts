import { z } from 'zod';

/** API group and version of every tokensync kind. */
export const GROUP = 'tokensync.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * A Go-style duration ("90s", "15m", "720h", "1h30m"), the format Kubernetes users already write for cert-manager.
 * The same pattern is enforced by the CRD so `kubectl apply` rejects a bad duration before tokensync sees it.
 */
export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

export const duration = (description: string) =>
  z.string().regex(new RegExp(DURATION_PATTERN)).max(32).meta({ description });

/** RFC 1123 DNS subdomain, what Kubernetes accepts as an object name. */
export const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const objectName = (description: string, extra: Record<string, unknown> = {}) =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(new RegExp(DNS_SUBDOMAIN))
    .meta({ description, ...extra });

/** A key inside a Secret's data. */
export const SECRET_KEY_PATTERN = '^[-._a-zA-Z0-9]+$';
export const secretKey = (description: string) =>
  z.string().min(1).max(253).regex(new RegExp(SECRET_KEY_PATTERN)).meta({ description });

/** A standard Kubernetes condition (metav1.Condition). */
export const conditionSchema = z
  .object({
    type: z.string().max(316).meta({ description: 'Type of the condition, for example Ready or Issuing.' }),
    status: z
      .enum(['True', 'False', 'Unknown'])
      .meta({ description: 'Status of the condition: True, False or Unknown.' }),
    reason: z.string().max(1024).meta({
      description: 'Machine-readable CamelCase reason for the last transition, for example Issued or UpstreamError.',
    }),
    message: z.string().max(32768).meta({ description: 'Human-readable explanation of the last transition.' }),
    lastTransitionTime: z
      .string()
      .meta({ description: 'When the status last changed (RFC 3339).', format: 'date-time' }),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'metadata.generation of the resource that this condition was computed from.' }),
  })
  .meta({ description: 'A condition in the Kubernetes API conventions format.' });
export type Condition = z.infer<typeof conditionSchema>;

export const conditionsSchema = z
  .array(conditionSchema)
  .max(16)
  .meta({
    description: 'Latest observations of the resource state, keyed by type.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

/** Kubernetes object metadata as tokensync reads it (the rest is kept but untyped). */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }>;
}

export interface KubeObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}
