// crds/ and the chart's copies are generated from the zod schemas (npm run generate). These tests fail when someone
// edits a schema without regenerating, or edits a generated file by hand, and when a field has no description
// (kubectl explain would print an empty line for it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderCrdFiles } from '../../../src/api/render.ts';
import { REPO_ROOT } from '../../support/paths.ts';

const files = renderCrdFiles();

interface CrdDoc {
  apiVersion: string;
  spec: {
    group: string;
    versions: Array<{
      name: string;
      subresources?: unknown;
      additionalPrinterColumns: Array<{ name: string }>;
      schema: { openAPIV3Schema: Record<string, unknown> };
    }>;
  };
}

describe('generated CRDs', () => {
  it('covers the three kinds in crds/ and charts/tokensync/files/crds/', () => {
    expect(files.map(([path]) => path).sort()).toEqual([
      'charts/tokensync/files/crds/tokensync.io_clustercredentialsproviders.yaml',
      'charts/tokensync/files/crds/tokensync.io_credentialsproviders.yaml',
      'charts/tokensync/files/crds/tokensync.io_serviceaccounttokens.yaml',
      'crds/tokensync.io_clustercredentialsproviders.yaml',
      'crds/tokensync.io_credentialsproviders.yaml',
      'crds/tokensync.io_serviceaccounttokens.yaml',
    ]);
  });

  it.each(files)('%s is up to date with src/api (run `npm run generate`)', (path, expected) => {
    let committed: string;
    try {
      committed = readFileSync(join(REPO_ROOT, path), 'utf8');
    } catch {
      throw new Error(`${path} is missing: run npm run generate`);
    }
    // A plain equality keeps the failure readable: vitest prints the line diff.
    expect(committed, `${path} is stale: run npm run generate`).toBe(expected);
  });

  /** Every property path (a.b[].c, a.{key}) in a structural schema that lacks a description. */
  function undocumented(schema: Record<string, unknown>, path: string, out: string[]): string[] {
    const properties = schema['properties'] as Record<string, Record<string, unknown>> | undefined;
    for (const [name, child] of Object.entries(properties ?? {})) {
      const childPath = path ? `${path}.${name}` : name;
      // The API server forbids anything but name/generateName under metadata, a description included; kubectl
      // explain shows ObjectMeta's own documentation there.
      if (childPath === 'metadata') continue;
      if (typeof child['description'] !== 'string' || child['description'].trim() === '') out.push(childPath);
      undocumented(child, childPath, out);
    }
    const items = schema['items'] as Record<string, unknown> | undefined;
    if (items && typeof items === 'object') undocumented(items, `${path}[]`, out);
    const extra = schema['additionalProperties'];
    if (extra && typeof extra === 'object') undocumented(extra as Record<string, unknown>, `${path}.{key}`, out);
    return out;
  }

  const crds = files
    .filter(([path]) => path.startsWith('crds/'))
    .map(([path, content]) => [path, parse(content)] as [string, CrdDoc]);

  it.each(crds)('%s documents every property', (_path, crd) => {
    for (const version of crd.spec.versions) {
      const root = version.schema.openAPIV3Schema;
      expect(typeof root['description']).toBe('string');
      expect(undocumented(root, '', [])).toEqual([]);
    }
  });

  it.each(crds)('%s is a structural schema with the status subresource and printer columns', (_path, crd) => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.spec.group).toBe('tokensync.io');
    const version = crd.spec.versions[0]!;
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources).toEqual({ status: {} });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toContain('Ready');
    // Structural schemas forbid these; the API server would reject the CRD.
    const text = JSON.stringify(version.schema);
    expect(text).not.toContain('"$schema"');
    expect(text).not.toContain('"propertyNames"');
    expect(text).not.toContain('"anyOf"');
    expect(text).not.toContain('"oneOf"');
  });
});
