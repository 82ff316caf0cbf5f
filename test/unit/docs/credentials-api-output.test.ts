// The README and docs/credentials-api.md show what `tokensync credentials-api` prints at start; the admin key a user
// copies from there must have the prefix the server really generates (it once said tsk_admin_, the server rsa_admin_).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateAdminKey } from '../../../src/credentials-api/index.ts';
import { REPO_ROOT } from '../../support/paths.ts';

describe('documented credentials-api start output', () => {
  it.each(['README.md', 'docs/credentials-api.md'])('%s shows the admin-key prefix the server generates', (doc) => {
    const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
    const shown = [...text.matchAll(/^admin key: ([a-z_]+)…$/gm)].map((m) => m[1]!);
    expect(shown.length, `${doc} shows no "admin key: …" line`).toBeGreaterThan(0);
    const generated = generateAdminKey();
    for (const prefix of shown)
      expect(generated.startsWith(prefix), `${prefix} vs ${generated.slice(0, 12)}`).toBe(true);
    expect(text).toMatch(/^tokensync credentials-api listening on http:\/\/127\.0\.0\.1:8090$/m);
  });
});
