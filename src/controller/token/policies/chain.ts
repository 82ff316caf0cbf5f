import {
  type Check,
  expired,
  notIssued,
  type PolicyInput,
  passthroughChanged,
  renewalDue,
  renewRequested,
  secretEdited,
  secretMissing,
  secretNotOurs,
  specChanged,
  type Violation,
} from './checks.ts';

/**
 * "Should this token be (re)minted?" as cert-manager asks it: an ordered chain of small checks, the first
 * violation wins. Order matters: a foreign Secret blocks everything; a first issue needs no other reason.
 */
export const ISSUING_CHAIN: Check[] = [
  secretNotOurs,
  notIssued,
  secretMissing,
  secretEdited,
  specChanged,
  renewRequested,
  passthroughChanged,
  expired,
  renewalDue,
];

export function evaluate(input: PolicyInput, chain: Check[] = ISSUING_CHAIN): Violation | undefined {
  for (const check of chain) {
    const violation = check(input);
    if (violation) return violation;
  }
  return undefined;
}
