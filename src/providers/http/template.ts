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
