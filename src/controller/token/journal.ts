import { PENDING_MINT_ANNOTATION, type ServiceAccountToken } from '../../api/v1alpha1/index.ts';

/** A mint whose outcome is not recorded yet: the token named here may exist upstream. */
export interface Journal {
  /** Deterministic upstream name (see naming.ts), the key to find the token again. */
  name: string;
  revision: number;
  /** When the mint call started (RFC 3339). */
  startedAt: string;
}

/**
 * The open journal of a resource, if any. The annotation is written before a mint and never removed: it is open
 * while its revision is above status.revision, which the status write that records the outcome raises. tokensync 0.1
 * journaled in status.pending; such a journal is still open.
 */
export function openJournal(sat: ServiceAccountToken): Journal | undefined {
  const legacy = sat.status?.pending;
  if (legacy)
    return { name: legacy.name ?? legacy.tokenId, revision: legacy.revision ?? 0, startedAt: legacy.startedAt };
  const raw = sat.metadata.annotations?.[PENDING_MINT_ANNOTATION];
  if (!raw) return undefined;
  const journal = parseJournal(raw);
  if (!journal) return undefined;
  return journal.revision > (sat.status?.revision ?? 0) ? journal : undefined;
}

export function parseJournal(raw: string): Journal | undefined {
  try {
    const j = JSON.parse(raw) as Partial<Journal>;
    if (typeof j.name !== 'string' || typeof j.revision !== 'number' || typeof j.startedAt !== 'string')
      return undefined;
    return { name: j.name, revision: j.revision, startedAt: j.startedAt };
  } catch {
    return undefined;
  }
}

/** The annotation value; key order fixed so the same journal always serialises the same way. */
export function journalAnnotation(journal: Journal): Record<string, string> {
  return {
    [PENDING_MINT_ANNOTATION]: JSON.stringify({
      name: journal.name,
      revision: journal.revision,
      startedAt: journal.startedAt,
    }),
  };
}
