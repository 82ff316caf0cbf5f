import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError, validateTemplate } from '../../../src/controller/template.ts';

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
});
