import { z } from 'zod';
import { GROUP, VERSION } from './common.ts';
import type { KindDefinition } from './kinds.ts';

type Json = Record<string, unknown>;

/**
 * Turns zod's JSON Schema into a Kubernetes structural schema: no $schema, no propertyNames, no
 * additionalProperties:false (structural schemas prune unknown fields instead), free-form objects marked
 * x-kubernetes-preserve-unknown-fields, and JavaScript's safe-integer bounds dropped.
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$schema' || key === 'propertyNames') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if ((key === 'maximum' || key === 'minimum') && Math.abs(value as number) >= Number.MAX_SAFE_INTEGER) continue;
    out[key] = toStructural(value);
  }
  const extra = out['additionalProperties'];
  if (extra && typeof extra === 'object' && Object.keys(extra).length === 0) {
    delete out['additionalProperties'];
    if (out['properties'] && Object.keys(out['properties'] as Json).length === 0) delete out['properties'];
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

export function openApiSchema(definition: KindDefinition): Json {
  const convert = (schema: z.ZodType) => toStructural(z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }));
  return {
    type: 'object',
    description: definition.description,
    required: ['spec'],
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { type: 'object' },
      spec: convert(definition.spec),
      status: convert(definition.status),
    },
  };
}

/** The CustomResourceDefinition object for one kind. */
export function customResourceDefinition(definition: KindDefinition): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'tokensync', 'app.kubernetes.io/part-of': 'tokensync' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: definition.listKind,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: definition.shortNames,
        categories: definition.categories,
      },
      scope: definition.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: definition.printerColumns,
          schema: { openAPIV3Schema: openApiSchema(definition) },
        },
      ],
    },
  };
}
