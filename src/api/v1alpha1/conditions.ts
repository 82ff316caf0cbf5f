/** Names that users, tests and dashboards rely on. Changing one is an API change. */

/** Finalizer that keeps a ServiceAccountToken until its upstream tokens are revoked. */
export const FINALIZER = 'tokensync.io/revoke';

/**
 * Finalizer on a CredentialsProvider / ClusterCredentialsProvider and on its credential Secret while a
 * ServiceAccountToken may still need them to revoke its tokens (in-use protection, like kubernetes.io/pvc-protection):
 * deleting a namespace then finishes in the right order by itself, tokens first.
 */
export const IN_USE_FINALIZER = 'tokensync.io/in-use';

/**
 * The journal of a mint in flight: written (with the finalizer, in one resourceVersion-guarded write) before the
 * credentials API is called. JSON {"name","revision","startedAt"}; open while its revision is above status.revision.
 */
export const PENDING_MINT_ANNOTATION = 'tokensync.io/pending-mint';

/**
 * Label that marks a Secret as a provider credential. tokensync reads a Secret as a management credential only
 * when it carries `tokensync.io/credential: "true"` (set by whoever may read it), so a user who may create providers
 * but not read Secrets cannot make tokensync copy an arbitrary Secret.
 */
export const CREDENTIAL_LABEL = 'tokensync.io/credential';

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
  /** A mint or rotation is wanted or in progress; the reason says why, the message what blocks it. */
  Issuing: 'Issuing',
  /**
   * Whether the credentials API granted the lifetime asked for (spec.lifetime, renewBefore). False when it granted
   * less, or takes no lifetime at all; the message says what tokensync does instead.
   */
  LifetimeHonored: 'LifetimeHonored',
  /**
   * Whether the workloads in spec.restartTargets are restarted after a rotation. Present only when restartTargets is
   * set; False with RestartsDisabled when this installation does not restart workloads.
   */
  RestartTargets: 'RestartTargets',
  /**
   * Whether the next renewal falls inside spec.renewal.windows. Present only when windows are set; False when no
   * window opens before the token would get too close to expiry, so it is renewed outside them.
   */
  RenewalWindow: 'RenewalWindow',
} as const;

export const Reason = {
  /** A token was minted and written to the Secret. */
  Issued: 'Issued',
  /** No token has been issued yet (the first mint is wanted). */
  NotIssued: 'NotIssued',
  /** Nothing to mint now. */
  Idle: 'Idle',
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
  /** The ClusterCredentialsProvider's allowedServiceAccounts do not let this namespace mint for this account. */
  ServiceAccountNotAllowed: 'ServiceAccountNotAllowed',
  /** The ClusterCredentialsProvider's namespaceSelector does not admit this namespace. */
  ProviderNotAllowed: 'ProviderNotAllowed',
  /** A Secret with the target name exists and is not managed by this resource; tokensync never overwrites it. */
  SecretConflict: 'SecretConflict',
  /** The Secret was deleted or edited out of band and is being repaired with a fresh token. */
  SecretRepaired: 'SecretRepaired',
  /** The API server refused the Secret write (validation, admission policy, quota, RBAC, size): fix that first. */
  SecretRejected: 'SecretRejected',
  /**
   * The API server refused tokensync's write to this ServiceAccountToken itself (an admission policy or webhook,
   * RBAC): the mint is recorded there before it happens, so nothing is minted until the write is accepted.
   */
  WriteRejected: 'WriteRejected',
  /** The Secret holding the token is missing and a new token could not be written yet. */
  SecretMissing: 'SecretMissing',
  /** The minted value cannot be stored (empty, control characters, too large): it was revoked. */
  ValueRejected: 'ValueRejected',
  /** The credentials API granted a shorter lifetime than asked (or than renewBefore needs). */
  UpstreamLifetimeShorter: 'UpstreamLifetimeShorter',
  /** The credentials API takes no lifetime: its tokens never expire (use rotation.every). */
  LifetimeNotSupported: 'LifetimeNotSupported',
  /** The lifetime asked for was granted. */
  LifetimeGranted: 'LifetimeGranted',
  /** The provider's credential Secret is not marked as a credential (label tokensync.io/credential: "true"). */
  CredentialNotAllowed: 'CredentialNotAllowed',
  /** This installation may not restart workloads (chart value restartTargets.enabled, --enable-restart-targets). */
  RestartsDisabled: 'RestartsDisabled',
  /** The listed workloads are restarted after each rotation. */
  RestartsEnabled: 'RestartsEnabled',
  /** The next renewal is inside spec.renewal.windows. */
  InsideWindow: 'InsideWindow',
  /** No renewal window opens before the token gets too close to expiry: it is renewed outside the windows. */
  OutsideWindow: 'OutsideWindow',
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
  SecretRejected: 'SecretRejected',
  WriteRejected: 'WriteRejected',
  ValueRejected: 'ValueRejected',
  LifetimeShortened: 'LifetimeShortened',
  RenewalOutsideWindow: 'RenewalOutsideWindow',
} as const;
