import { describe, expect, it } from 'vitest';
import {
  MAX_EXPRESSIONS,
  MAX_FILTERS,
  MAX_RENDERED_BYTES,
  MAX_TEMPLATE_BYTES,
  renderTemplate,
  TemplateError,
  validateTemplate,
} from '../../../src/controller/template.ts';

describe('Secret templates', () => {
  it('renders variables with json and base64 filters', () => {
    const out = renderTemplate(
      {
        env: 'CIO_TOKEN={{ .token }}',
        'session.json': '{"accessToken": {{ .token | json }}, "scopes": {{ .scopes }}}',
        b: '{{.token|base64}}',
      },
      { token: 'a"b', scopes: '["read"]' },
    );
    expect(out['env']).toBe('CIO_TOKEN=a"b');
    expect(JSON.parse(out['session.json']!)).toEqual({ accessToken: 'a"b', scopes: ['read'] });
    expect(Buffer.from(out['b']!, 'base64').toString()).toBe('a"b');
  });

  it('names every unknown variable, unknown filter and malformed expression', () => {
    expect(validateTemplate({ k: '{{ .tokn }} {{ .token | upper }} {{ token }}' })).toEqual([
      expect.stringContaining('unknown variable .tokn'),
      expect.stringContaining('unknown filter "upper"'),
      expect.stringContaining('malformed expression'),
    ]);
    expect(() => renderTemplate({ k: '{{ .nope }}' }, {})).toThrow(TemplateError);
  });

  it('does not put the token value into a template error', () => {
    try {
      renderTemplate({ k: '{{ .nope }}' }, { token: 'rsa_live_secret' });
    } catch (error) {
      expect(String(error)).not.toContain('rsa_live_secret');
    }
  });

  describe('caps', () => {
    it('refuses template text over the byte limit before scanning it, with one clear problem', () => {
      const big = { a: 'x'.repeat(MAX_TEMPLATE_BYTES / 2), b: `${'é'.repeat(MAX_TEMPLATE_BYTES / 4)}{{ .nope }}` };
      expect(validateTemplate(big)).toEqual([
        `secret.template is ${MAX_TEMPLATE_BYTES + 11} bytes, over the limit of ${MAX_TEMPLATE_BYTES}; shorten it`,
      ]);
      expect(validateTemplate({ a: 'x'.repeat(MAX_TEMPLATE_BYTES - 12), b: '{{ .token }}' })).toEqual([]);
    });

    it('refuses a filter chain longer than the limit, naming the key and the variable', () => {
      const chain = (n: number) => `{{ .token${' | base64'.repeat(n)} }}`;
      expect(validateTemplate({ k: chain(MAX_FILTERS) })).toEqual([]);
      expect(validateTemplate({ k: chain(MAX_FILTERS + 1) })).toEqual([
        `secret.template["k"]: .token has ${MAX_FILTERS + 1} filters, over the limit of ${MAX_FILTERS}`,
      ]);
    });

    it('refuses more expressions than the limit, counted over every key', () => {
      const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, '{{ .token }}']));
      expect(validateTemplate(keys(MAX_EXPRESSIONS))).toEqual([]);
      expect(validateTemplate({ ...keys(MAX_EXPRESSIONS), extra: '{{ .tokenId }}' })).toEqual([
        `secret.template has ${MAX_EXPRESSIONS + 1} {{ }} expressions, over the limit of ${MAX_EXPRESSIONS}`,
      ]);
    });

    it('refuses rendered data over the limit, without the value in the message', () => {
      const token = `rsa_live_${'s'.repeat(100 * 1024)}`;
      const template = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, '{{ .token }}']));
      let error: unknown;
      try {
        renderTemplate(template, { token });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TemplateError);
      expect((error as Error).message).toBe(
        `the rendered Secret data is over ${MAX_RENDERED_BYTES} bytes (reached at key "k5"); the API server stores at most 1 MiB per object and base64 adds a third: use fewer or smaller template keys`,
      );
      expect(String(error)).not.toContain('rsa_live_');
      // Five copies fit.
      expect(
        Object.keys(renderTemplate(Object.fromEntries(Object.entries(template).slice(0, 5)), { token })),
      ).toHaveLength(5);
    });

    it('stops inside a key as soon as the data is too large (base64 chains of a 1 MiB token)', () => {
      const token = 't'.repeat(1024 * 1024);
      expect(() => renderTemplate({ k: '{{ .token | base64 | base64 }} {{ .token }}' }, { token })).toThrow(
        /reached at key "k"/,
      );
    });

    it('512 KiB of data stays under the 1 MiB object limit once base64-encoded with room for metadata', () => {
      expect(Math.ceil(MAX_RENDERED_BYTES / 3) * 4).toBeLessThan(1024 * 1024 - 256 * 1024);
    });
  });
});
