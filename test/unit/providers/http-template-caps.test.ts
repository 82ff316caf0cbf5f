// Caps of the generic http provider's body templates: template length, placeholder count and rendered size, each
// refused with a TemplateError that says which limit (the provider turns it into a Permanent error and Ready=False).
import { describe, expect, it } from 'vitest';
import {
  MAX_BODY_PLACEHOLDERS,
  MAX_BODY_TEMPLATE_LENGTH,
  MAX_RENDERED_BODY_BYTES,
  renderJsonTemplate,
  TemplateError,
  type TemplateValues,
  templateVariables,
} from '../../../src/providers/http/template.ts';

const values: TemplateValues = {
  serviceAccount: 'sa',
  tokenName: 'name',
  lifetimeSeconds: 60,
  readOnly: false,
  scopes: ['read'],
};

const list = (n: number) => `[${Array.from({ length: n }, () => '{{ .tokenName }}').join(',')}]`;

describe('body template caps', () => {
  it('refuses a template longer than the limit, before scanning it', () => {
    const long = `{"a": "${'x'.repeat(MAX_BODY_TEMPLATE_LENGTH)}"}`;
    expect(() => templateVariables(long)).toThrow(
      new TemplateError(`body template is ${long.length} characters, over the limit of ${MAX_BODY_TEMPLATE_LENGTH}`),
    );
    expect(() => renderJsonTemplate(long, values)).toThrow(TemplateError);
  });

  it('refuses more placeholders than the limit', () => {
    expect(renderJsonTemplate(list(MAX_BODY_PLACEHOLDERS), values)).toHaveLength(MAX_BODY_PLACEHOLDERS);
    expect(() => renderJsonTemplate(list(MAX_BODY_PLACEHOLDERS + 1), values)).toThrow(
      `body template has more than ${MAX_BODY_PLACEHOLDERS} placeholders`,
    );
  });

  it('refuses a rendered body over the limit (64 placeholders of 64 escaped scopes)', () => {
    const scopes = Array.from({ length: 64 }, () => '\u0001'.repeat(128));
    const template = `[${Array.from({ length: 64 }, () => '{{ .scopes }}').join(',')}]`;
    expect(() => renderJsonTemplate(template, { ...values, scopes })).toThrow(
      new RegExp(`^the rendered body is \\d+ bytes, over the limit of ${MAX_RENDERED_BODY_BYTES}$`),
    );
  });
});
