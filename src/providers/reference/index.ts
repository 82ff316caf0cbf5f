import type { IometeApi, IometeWire } from '../iomete/client.ts';
import { IOMETE_WIRE, IometeLikeProvider, listProbe } from '../iomete/index.ts';
import type { ProviderFactory } from '../types.ts';

/**
 * The bundled reference credentials API (src/credentials-api): IOMETE's wire shape with the details we define
 * ourselves — `Authorization: Bearer <admin key>` and GET {base}/tokens/{name}.
 */
export const REFERENCE_WIRE: IometeWire = {
  ...IOMETE_WIRE,
  authHeaders: (credential) => ({ authorization: `Bearer ${credential}` }),
  activeStatuses: ['ACTIVE', 'active'],
  getByName: true,
};

/** GET /healthz (reachability), then the list probe (authentication of the admin key). */
export async function referenceCheck(api: IometeApi, signal?: AbortSignal): Promise<void> {
  await api.get('check', '/healthz', signal);
  await listProbe(api, signal);
}

export const createReferenceProvider: ProviderFactory = (config, deps) =>
  new IometeLikeProvider(config, deps, { type: 'reference', wire: REFERENCE_WIRE, check: referenceCheck });
