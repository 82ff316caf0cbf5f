import type { ObservedSecret, SecretMetadataPatch } from '../../kube/secrets.ts';
import type { Round } from './round.ts';
import { desiredLabels, desiredUserAnnotations, USER_KEYS_ANNOTATION } from './secret-manifest.ts';

/**
 * The metadata change that brings a Secret's labels and annotations in line with spec.secret, or undefined when it
 * already matches. Keys the spec no longer lists are removed, but only those tokensync set (remembered in an
 * annotation): labels others put on the Secret stay.
 */
export function metadataDrift(round: Round, secret: ObservedSecret): SecretMetadataPatch | undefined {
  const labels = desiredLabels(round.sat);
  const annotations = desiredUserAnnotations(round.sat);
  const previousKeys = (secret.metadata.annotations?.[USER_KEYS_ANNOTATION] ?? '').split(',').filter(Boolean);
  const labelPatch: Record<string, string | null> = {};
  const annotationPatch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(labels)) if (secret.metadata.labels?.[k] !== v) labelPatch[k] = v;
  for (const [k, v] of Object.entries(annotations)) if (secret.metadata.annotations?.[k] !== v) annotationPatch[k] = v;
  for (const key of previousKeys) {
    const [kind, name] = [key.slice(0, 2), key.slice(2)];
    if (kind === 'l:' && !(name in labels) && secret.metadata.labels?.[name] !== undefined) labelPatch[name] = null;
    if (kind === 'a:' && !(name in annotations) && secret.metadata.annotations?.[name] !== undefined)
      annotationPatch[name] = null;
  }
  if (!Object.keys(labelPatch).length && !Object.keys(annotationPatch).length) return undefined;
  return {
    ...(Object.keys(labelPatch).length ? { labels: labelPatch } : {}),
    ...(Object.keys(annotationPatch).length ? { annotations: annotationPatch } : {}),
  };
}

/**
 * Applies spec.secret's labels and annotations to a Secret we own, and records the Secret's new resourceVersion so
 * our own write is not mistaken for an edit.
 */
export async function syncSecretMetadata(round: Round, secret: ObservedSecret): Promise<void> {
  const patch = metadataDrift(round, secret);
  if (!patch) return;
  const updated = await round.deps.secrets.patchMetadata(round.namespace, secret.metadata.name, patch, {
    resourceVersion: secret.metadata.resourceVersion!,
  });
  round.secret = { ...secret, metadata: updated.metadata };
  if (round.status.secretResourceVersion === secret.metadata.resourceVersion) {
    round.set({ secretResourceVersion: updated.metadata.resourceVersion });
  }
}
