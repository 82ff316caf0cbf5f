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

/**
 * Caps, so that a template cannot make the controller build something the API server refuses or spend its memory:
 * the template text, the expressions in it and each expression's filter chain are checked before any mint
 * (InvalidSpec); the rendered size is checked when the Secret is built, as it depends on the token.
 */
/** Template text, all keys together (UTF-8 bytes). Real templates are a few hundred bytes. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
/** `{{ ... }}` expressions, all keys together: each may copy the whole token. */
export const MAX_EXPRESSIONS = 64;
/** Filters in one expression; `| base64` grows its input by a third each time. */
export const MAX_FILTERS = 4;
/**
 * Rendered Secret data, all keys together (bytes before base64). The API server refuses an object over 1 MiB
 * (etcd's request limit is 1.5 MiB); data is stored base64-encoded (x 4/3, so 683 KiB at this cap), which leaves
 * more than 300 KiB for metadata, annotations and managedFields.
 */
export const MAX_RENDERED_BYTES = 512 * 1024;

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
  const bytes = Object.values(template).reduce((sum, text) => sum + Buffer.byteLength(text, 'utf8'), 0);
  if (bytes > MAX_TEMPLATE_BYTES) {
    // Scanning a huge template would only produce a huge list of problems: this one says what to do.
    return [`secret.template is ${bytes} bytes, over the limit of ${MAX_TEMPLATE_BYTES}; shorten it`];
  }
  let expressions = 0;
  for (const [key, text] of Object.entries(template)) {
    const stripped = text.replace(EXPRESSION, (_m, variable: string, filters: string) => {
      expressions++;
      const chain = parseFilters(filters);
      if (chain.length > MAX_FILTERS) {
        problems.push(
          `secret.template["${key}"]: .${variable} has ${chain.length} filters, over the limit of ${MAX_FILTERS}`,
        );
      }
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(variable)) {
        problems.push(
          `secret.template["${key}"]: unknown variable .${variable} (known: ${TEMPLATE_VARIABLES.join(', ')})`,
        );
      }
      for (const filter of chain) {
        if (!FILTERS[filter])
          problems.push(`secret.template["${key}"]: unknown filter "${filter}" (known: json, base64)`);
      }
      return '';
    });
    if (stripped.includes('{{') || stripped.includes('}}')) {
      problems.push(`secret.template["${key}"]: malformed expression; write {{ .variable }} or {{ .variable | json }}`);
    }
  }
  if (expressions > MAX_EXPRESSIONS) {
    problems.push(`secret.template has ${expressions} {{ }} expressions, over the limit of ${MAX_EXPRESSIONS}`);
  }
  return problems;
}

function parseFilters(filters: string): string[] {
  return filters
    .split('|')
    .map((f) => f.trim())
    .filter(Boolean);
}

/**
 * Renders every key; throws TemplateError for an invalid template (validate first to get all problems) and for
 * rendered data over MAX_RENDERED_BYTES. Error messages carry sizes and keys, never values.
 */
export function renderTemplate(template: Record<string, string>, values: TemplateValues): Record<string, string> {
  const problems = validateTemplate(template);
  if (problems.length) throw new TemplateError(problems.join('; '));
  const out: Record<string, string> = {};
  // Counted expression by expression, so a template that repeats a large token stops as soon as it is too big.
  let total = 0;
  for (const [key, text] of Object.entries(template)) {
    total += Buffer.byteLength(text.replace(EXPRESSION, ''), 'utf8');
    out[key] = text.replace(EXPRESSION, (_m, variable: string, filters: string) => {
      let value = values[variable as TemplateVariable] ?? '';
      for (const filter of parseFilters(filters)) value = FILTERS[filter]!(value);
      total += Buffer.byteLength(value, 'utf8');
      if (total > MAX_RENDERED_BYTES) throw tooLarge(key);
      return value;
    });
    if (total > MAX_RENDERED_BYTES) throw tooLarge(key);
  }
  return out;
}

function tooLarge(key: string): TemplateError {
  return new TemplateError(
    `the rendered Secret data is over ${MAX_RENDERED_BYTES} bytes (reached at key "${key}"); the API server stores at most 1 MiB per object and base64 adds a third: use fewer or smaller template keys`,
  );
}
