/**
 * Secret templates: `{{ .var }}` with optional `| json` / `| base64` filters, and nothing else. A tiny language on
 * purpose: no code execution, no file access, and every variable is known in advance, so a typo is an InvalidSpec
 * error instead of an empty value in production.
 */
import { PROVIDER_TEMPLATE_VARIABLES } from '../providers/registry.ts';

/** Variables every token has; providers add theirs (ProviderModule.templateVariables: tenantURL, region, ...). */
const COMMON_VARIABLES = ['token', 'tokenId', 'expiresAt', 'serviceAccount', 'scopes'];
export const TEMPLATE_VARIABLES: readonly string[] = [
  ...new Set([...COMMON_VARIABLES, ...PROVIDER_TEMPLATE_VARIABLES]),
];
export type TemplateVariable = string;
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

export const DEFAULT_TEMPLATE: Record<string, string> = { token: '{{ .token }}' };

const EXPRESSION = /\{\{\s*\.([A-Za-z]+)\s*((?:\|\s*[a-z0-9]+\s*)*)\}\}/g;
const FILTERS: Record<string, (value: string) => string> = {
  json: (value) => JSON.stringify(value),
  base64: (value) => Buffer.from(value, 'utf8').toString('base64'),
};

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Checks a template without rendering it; returns human-readable problems (empty when valid). */
export function validateTemplate(template: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, text] of Object.entries(template)) {
    const stripped = text.replace(EXPRESSION, (_m, variable: string, filters: string) => {
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(variable)) {
        problems.push(
          `secret.template["${key}"]: unknown variable .${variable} (known: ${TEMPLATE_VARIABLES.join(', ')})`,
        );
      }
      for (const filter of parseFilters(filters)) {
        if (!FILTERS[filter])
          problems.push(`secret.template["${key}"]: unknown filter "${filter}" (known: json, base64)`);
      }
      return '';
    });
    if (stripped.includes('{{') || stripped.includes('}}')) {
      problems.push(`secret.template["${key}"]: malformed expression; write {{ .variable }} or {{ .variable | json }}`);
    }
  }
  return problems;
}

function parseFilters(filters: string): string[] {
  return filters
    .split('|')
    .map((f) => f.trim())
    .filter(Boolean);
}

/** Renders every key; throws TemplateError for an invalid template (validate first to get all problems). */
export function renderTemplate(template: Record<string, string>, values: TemplateValues): Record<string, string> {
  const problems = validateTemplate(template);
  if (problems.length) throw new TemplateError(problems.join('; '));
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(template)) {
    out[key] = text.replace(EXPRESSION, (_m, variable: string, filters: string) => {
      let value = values[variable as TemplateVariable] ?? '';
      for (const filter of parseFilters(filters)) value = FILTERS[filter]!(value);
      return value;
    });
  }
  return out;
}
