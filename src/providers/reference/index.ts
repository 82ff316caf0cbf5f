import { referenceConfigSchema } from '../../api/v1alpha1/providers/reference.ts';
import type { IometeApi, IometeWire } from '../iomete/client.ts';
import { IOMETE_WIRE, IometeLikeProvider, iometeLikeCapabilities, listProbe } from '../iomete/index.ts';
import type { AcceptedRequestFields, IssueRequest, ProviderCapabilities, ProviderModule } from '../types.ts';

/**
 * The bundled reference credentials API (src/credentials-api): IOMETE's wire shape with the details we define
 * ourselves — `Authorization: Bearer <admin key>`, GET {base}/tokens/{name}, and read-only tokens, scopes and a
 * description on create (docs/credentials-api.md).
 */
export const REFERENCE_WIRE: IometeWire = {
  ...IOMETE_WIRE,
  authHeaders: (credential) => ({ authorization: `Bearer ${credential}` }),
  activeStatuses: ['ACTIVE', 'active'],
  getByName: true,
};

export const REFERENCE_ACCEPTS: AcceptedRequestFields = { readOnly: true, scopes: true, attributes: ['maxRps'] };

export const REFERENCE_CAPABILITIES: ProviderCapabilities = iometeLikeCapabilities(REFERENCE_ACCEPTS);

/** The description the reference server shows next to the token: who minted it and for which resource. */
export const tokenDescription = (owner: IssueRequest['owner']): string =>
  `tokensync ${owner.namespace}/${owner.name} uid=${owner.uid}`;

/** GET /healthz (reachability), then the list probe (authentication of the admin key). */
export async function referenceCheck(api: IometeApi, signal?: AbortSignal): Promise<void> {
  await api.get('check', '/healthz', signal);
  await listProbe(api, signal);
}

export const referenceProvider: ProviderModule<'reference'> = {
  type: 'reference',
  configSchema: referenceConfigSchema,
  templateVariables: [],
  capabilities: () => REFERENCE_CAPABILITIES,
  create: (config, deps) =>
    new IometeLikeProvider(config, config.settings, deps, {
      type: 'reference',
      wire: REFERENCE_WIRE,
      capabilities: REFERENCE_CAPABILITIES,
      documented: 'the reference server takes readOnly, scopes and attributes.maxRps',
      extraCreateFields: (request) => ({
        readOnly: request.readOnly,
        scopes: request.scopes,
        description: tokenDescription(request.owner),
      }),
      check: referenceCheck,
    }),
};
