import {
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  RENEW_ANNOTATION,
  Reason,
  type ServiceAccountToken,
} from '../../../api/v1alpha1/index.ts';
import type { ObservedSecret } from '../../../kube/secrets.ts';
import { tokenSpecHash } from '../../spec-hash.ts';

/** Everything a check may look at, gathered once per reconcile. */
export interface PolicyInput {
  sat: ServiceAccountToken;
  /** The Secret as observed (cache, confirmed live before acting); undefined when it does not exist. */
  secret: ObservedSecret | undefined;
  now: Date;
  /** For passthrough providers: fingerprint of the credential now; a change means the user replaced the token. */
  passthroughFingerprint?: string;
}

/** Why a token must be (re)minted, or why tokensync must not touch the Secret. */
export interface Violation {
  /** `mint` for a first issue, `repair` for a broken Secret, `rotate` for a live token that must be replaced. */
  action: 'mint' | 'repair' | 'rotate' | 'conflict';
  reason: string;
  message: string;
}

export type Check = (input: PolicyInput) => Violation | undefined;

/** A Secret is ours when it carries the managed-by label and its controller reference is this resource. */
export function isOwnedBy(secret: ObservedSecret, ownerUid: string | undefined): boolean {
  return (
    secret.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE &&
    !!ownerUid &&
    !!secret.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid && ref.controller)
  );
}

/** Nothing issued yet. */
export const notIssued: Check = ({ sat }) =>
  sat.status?.tokenId
    ? undefined
    : { action: 'mint', reason: Reason.NotIssued, message: 'No token has been issued yet' };

/** A Secret with the target name exists and belongs to someone else: never overwrite it. */
export const secretNotOurs: Check = ({ sat, secret }) =>
  secret && !isOwnedBy(secret, sat.metadata.uid)
    ? {
        action: 'conflict',
        reason: Reason.SecretConflict,
        message: `Secret ${secret.metadata.name} exists and is not managed by this ServiceAccountToken; tokensync will not overwrite it. Delete or rename it, or set spec.secret.name`,
      }
    : undefined;

/** The Secret was deleted out of band. Its value cannot be read back upstream, so a new token is minted. */
export const secretMissing: Check = ({ sat, secret }) =>
  secret
    ? undefined
    : {
        action: 'repair',
        reason: Reason.SecretRepaired,
        message: `Secret ${sat.status?.secretName ?? ''} is missing; minting a new token and revoking the old one`,
      };

/**
 * The Secret data no longer matches what tokensync wrote (edited out of band). Only a Secret whose data was read
 * carries a hash; the cache holds metadata, and a version the status recorded is known to be unchanged.
 */
export const secretEdited: Check = ({ sat, secret }) =>
  secret?.dataHash &&
  sat.status?.secretHash &&
  secret.dataHash !== sat.status.secretHash &&
  secret.legacyDataHash !== sat.status.secretHash
    ? {
        action: 'repair',
        reason: Reason.SecretRepaired,
        message: `Secret ${secret.metadata.name} was modified outside tokensync; minting a new token and revoking the old one`,
      }
    : undefined;

/** A spec field that shapes the token changed (serviceAccount, readOnly, scopes, attributes, lifetime, template). */
export const specChanged: Check = ({ sat }) =>
  sat.status?.specHash && sat.status.specHash !== tokenSpecHash(sat)
    ? { action: 'rotate', reason: Reason.Renewing, message: 'The token-shaping spec changed; rotating the token' }
    : undefined;

/** The user asked for a rotation with the renew annotation. */
export const renewRequested: Check = ({ sat }) => {
  const requested = sat.metadata.annotations?.[RENEW_ANNOTATION];
  return requested && requested !== sat.status?.lastRenewRequest
    ? { action: 'rotate', reason: Reason.Renewing, message: `Renewal requested (${RENEW_ANNOTATION}=${requested})` }
    : undefined;
};

/** The passthrough credential was replaced by the user: write the new one. */
export const passthroughChanged: Check = ({ sat, passthroughFingerprint }) =>
  passthroughFingerprint && sat.status?.tokenId && passthroughFingerprint !== sat.status.tokenId
    ? { action: 'rotate', reason: Reason.Renewing, message: 'The passthrough credential changed; updating the Secret' }
    : undefined;

/** The current token expired (renewal must have failed until now). */
export const expired: Check = ({ sat, now }) =>
  sat.status?.expiresAt && Date.parse(sat.status.expiresAt) <= now.getTime()
    ? { action: 'rotate', reason: Reason.Expired, message: `The token expired at ${sat.status.expiresAt}` }
    : undefined;

/** The renewal time has come. */
export const renewalDue: Check = ({ sat, now }) =>
  sat.status?.renewalTime && Date.parse(sat.status.renewalTime) <= now.getTime()
    ? { action: 'rotate', reason: Reason.Renewing, message: `Renewal time ${sat.status.renewalTime} reached` }
    : undefined;
