import { permanent } from './errors.ts';
import type { AcceptedRequestFields, IssueRequest } from './types.ts';

/**
 * Refuses ServiceAccountToken fields the vendor does not document, before any request: a field the API does not
 * know is either rejected upstream with a less helpful message or, worse, silently ignored (a readOnly: true that
 * yields a write-capable token). `documented` names what the vendor does take, for the message.
 */
export function refuseUndocumented(
  provider: string,
  accepts: AcceptedRequestFields,
  request: IssueRequest,
  documented: string,
): void {
  const refused: string[] = [];
  if (request.readOnly && !accepts.readOnly) refused.push('readOnly');
  if (request.scopes.length > 0 && !accepts.scopes) refused.push('scopes');
  if (accepts.attributes !== 'any') {
    const known = accepts.attributes;
    for (const key of Object.keys(request.attributes).sort()) {
      if (!known.includes(key)) refused.push(`attributes.${key}`);
    }
  }
  if (refused.length === 0) return;
  throw permanent(
    `${provider} issue: spec.${refused.join(', spec.')} ${refused.length === 1 ? 'is' : 'are'} not supported by ${provider} (${documented}); remove ${refused.length === 1 ? 'it' : 'them'} from the ServiceAccountToken`,
  );
}
