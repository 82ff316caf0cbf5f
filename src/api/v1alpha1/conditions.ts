/** Names that users, tests and dashboards rely on. Changing one is an API change. */

/** Finalizer that keeps a ServiceAccountToken until its upstream tokens are revoked. */
export const FINALIZER = 'tokensync.io/revoke';

/** Setting this annotation to a new value (conventionally a timestamp) rotates the token once. */
export const RENEW_ANNOTATION = 'tokensync.io/renew-requested-at';

/** Label on every Secret tokensync writes; the controller watches Secrets by this label only. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'tokensync';
/** Label naming the ServiceAccountToken that owns a Secret (its metadata.name). */
export const OWNER_LABEL = 'tokensync.io/owner';
/** Annotation on restarted workloads' pod templates, like `kubectl rollout restart`'s restartedAt. */
export const RESTARTED_AT_ANNOTATION = 'tokensync.io/restartedAt';

export const ConditionType = {
  /** The Secret holds a live token that matches the spec. */
  Ready: 'Ready',
  /** A mint or rotation is in progress. */
  Issuing: 'Issuing',
} as const;

export const Reason = {
  /** A token was minted and written to the Secret. */
  Issued: 'Issued',
  /** A rotation is due or under way. */
  Renewing: 'Renewing',
  /** The credentials API answered with an error; tokensync retries with backoff. */
  UpstreamError: 'UpstreamError',
  /** The credentials API refused permanently (401/403/4xx); fix the credential or spec. No hot retries. */
  UpstreamRejected: 'UpstreamRejected',
  /** The spec cannot be acted on; the message says which field. */
  InvalidSpec: 'InvalidSpec',
  /** The current token has expired and no successor could be minted yet. */
  Expired: 'Expired',
  /** The provider config is missing or not Ready. */
  ProviderNotReady: 'ProviderNotReady',
  /** The ClusterCredentialsProvider's namespaceSelector does not admit this namespace. */
  ProviderNotAllowed: 'ProviderNotAllowed',
  /** A Secret with the target name exists and is not managed by this resource; tokensync never overwrites it. */
  SecretConflict: 'SecretConflict',
  /** The Secret was deleted or edited out of band and is being repaired with a fresh token. */
  SecretRepaired: 'SecretRepaired',
  /** The resource is being deleted and its tokens revoked. */
  Revoking: 'Revoking',
  /** The provider has no management API (augment): the user-supplied token is passed through as is. */
  Passthrough: 'Passthrough',
  /** Provider reachable and its credential accepted. */
  Reachable: 'Reachable',
  /** Provider's management credential Secret is missing or lacks the key. */
  CredentialMissing: 'CredentialMissing',
} as const;
export type ReasonName = (typeof Reason)[keyof typeof Reason];

/** Event reasons, as listed in the operator's documentation. */
export const EventReason = {
  Issued: 'Issued',
  Renewed: 'Renewed',
  Revoked: 'Revoked',
  RevokeFailed: 'RevokeFailed',
  IssueFailed: 'IssueFailed',
  SecretRepaired: 'SecretRepaired',
  SecretConflict: 'SecretConflict',
  InvalidSpec: 'InvalidSpec',
  ProviderNotReady: 'ProviderNotReady',
  RestartedWorkload: 'RestartedWorkload',
} as const;
