// The explicit egress allow the tests' loopback servers need. The default policy denies loopback, and tests do not
// weaken it: they allow exactly the address their reference credentials API listens on, as a platform team would
// with --egress-allow.
import { buildEgressPolicy } from '../../src/providers/transport/egress-policy.ts';

/** What the tests pass as --egress-allow: the loopback address the in-process servers listen on. */
export const TEST_EGRESS_ALLOW = ['127.0.0.1'];

export const LOOPBACK_EGRESS = buildEgressPolicy({ allow: TEST_EGRESS_ALLOW });
