/**
 * JSON body templates of the generic http provider: `{{ .serviceAccount }}`, `{{ .tokenName }}`,
 * `{{ .lifetimeSeconds }}`, `{{ .readOnly }}`, `{{ .scopes }}`.
 *
 * Safe by construction: the template is scanned as JSON text, and every placeholder is replaced by a value encoded
 * for where it stands — outside a string literal by its JSON encoding (`"name"`, `3600`, `true`, `["a","b"]`,
 * `null` when unset); inside a string literal by JSON string escaping (arrays space-joined, unset → empty). A value
 * can therefore never close a string or add a field. The result is parsed as JSON and must be valid.
 */

export const TEMPLATE_VARIABLES = ['serviceAccount', 'tokenName', 'lifetimeSeconds', 'readOnly', 'scopes'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = {
  serviceAccount: string | undefined;
  tokenName: string;
  lifetimeSeconds: number | undefined;
  readOnly: boolean;
  scopes: string[];
};

const PLACEHOLDER = /\{\{\s*\.([A-Za-z][A-Za-z0-9]*)\s*\}\}/y;

/** Template text (the CRD allows 8192 characters; checked here too for configs that do not come through it). */
export const MAX_BODY_TEMPLATE_LENGTH = 8192;
/** Placeholders in one body: each may insert up to 64 scopes of 128 characters. */
export const MAX_BODY_PLACEHOLDERS = 64;
/** The rendered JSON body, in bytes: far above any real request, far below what would strain either side. */
export const MAX_RENDERED_BODY_BYTES = 64 * 1024;

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Variables a template uses (validates the placeholders). */
export function templateVariables(template: string): Set<TemplateVariable> {
  const used = new Set<TemplateVariable>();
  scan(template, (name) => {
    used.add(name);
    return '';
  });
  return used;
}

export function renderJsonTemplate(template: string, values: TemplateValues): unknown {
  const text = scan(template, (name, inString) => encode(values[name], inString));
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RENDERED_BODY_BYTES) {
    throw new TemplateError(`the rendered body is ${bytes} bytes, over the limit of ${MAX_RENDERED_BODY_BYTES}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new TemplateError('body template does not render to valid JSON');
  }
}

function encode(value: TemplateValues[TemplateVariable], inString: boolean): string {
  if (!inString) return value === undefined ? 'null' : JSON.stringify(value);
  const plain = value === undefined ? '' : Array.isArray(value) ? value.join(' ') : String(value);
  return JSON.stringify(plain).slice(1, -1);
}

function scan(template: string, replace: (name: TemplateVariable, inString: boolean) => string): string {
  if (template.length > MAX_BODY_TEMPLATE_LENGTH) {
    throw new TemplateError(
      `body template is ${template.length} characters, over the limit of ${MAX_BODY_TEMPLATE_LENGTH}`,
    );
  }
  let placeholders = 0;
  let out = '';
  let inString = false;
  let i = 0;
  while (i < template.length) {
    const char = template[i]!;
    if (char === '{' && template[i + 1] === '{') {
      PLACEHOLDER.lastIndex = i;
      const match = PLACEHOLDER.exec(template);
      if (!match) throw new TemplateError(`malformed placeholder at offset ${i}`);
      const name = match[1]!;
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
        throw new TemplateError(`unknown placeholder {{ .${name} }} (known: ${TEMPLATE_VARIABLES.join(', ')})`);
      }
      if (++placeholders > MAX_BODY_PLACEHOLDERS) {
        throw new TemplateError(`body template has more than ${MAX_BODY_PLACEHOLDERS} placeholders`);
      }
      out += replace(name as TemplateVariable, inString);
      i = PLACEHOLDER.lastIndex;
      continue;
    }
    if (inString && char === '\\') {
      out += char + (template[i + 1] ?? '');
      i += 2;
      continue;
    }
    if (char === '"') inString = !inString;
    out += char;
    i++;
  }
  return out;
}
