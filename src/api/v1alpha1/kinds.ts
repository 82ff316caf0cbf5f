import type { z } from 'zod';
import { API_VERSION, GROUP, type KubeObject } from './common.ts';
import {
  type ClusterCredentialsProviderSpec,
  type CredentialsProviderSpec,
  clusterCredentialsProviderSpecSchema,
  credentialsProviderSpecSchema,
  type ProviderStatus,
  providerStatusSchema,
} from './provider.ts';
import {
  type ServiceAccountTokenSpec,
  type ServiceAccountTokenStatus,
  serviceAccountTokenSpecSchema,
  serviceAccountTokenStatusSchema,
} from './service-account-token.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'date' | 'integer' | 'boolean';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything that makes one CRD: the schemas are the single source of truth for types, validation and crds/. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
  scope: 'Namespaced' | 'Cluster';
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const readyColumns: PrinterColumn[] = [
  {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Whether the resource is Ready.',
  },
  {
    name: 'Reason',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    description: 'Reason of the Ready condition.',
    priority: 1,
  },
];

export const serviceAccountTokenKind: KindDefinition = {
  kind: 'ServiceAccountToken',
  plural: 'serviceaccounttokens',
  singular: 'serviceaccounttoken',
  listKind: 'ServiceAccountTokenList',
  shortNames: ['sat'],
  categories: ['tokensync'],
  scope: 'Namespaced',
  description:
    'A vendor service-account token that tokensync mints, keeps in a Secret, renews before expiry and revokes on deletion.',
  spec: serviceAccountTokenSpecSchema,
  status: serviceAccountTokenStatusSchema,
  printerColumns: [
    readyColumns[0]!,
    { name: 'Secret', type: 'string', jsonPath: '.status.secretName', description: 'Secret holding the token.' },
    // Future times are strings: kubectl renders a `date` column as an age and prints <invalid> for the future.
    { name: 'Expires', type: 'string', jsonPath: '.status.expiresAt', description: 'When the current token expires.' },
    { name: 'Renews', type: 'string', jsonPath: '.status.renewalTime', description: 'When the token will be rotated.' },
    readyColumns[1]!,
    { name: 'Provider', type: 'string', jsonPath: '.spec.providerRef.name', description: 'Provider.', priority: 1 },
    { name: 'Revision', type: 'integer', jsonPath: '.status.revision', description: 'Tokens minted.', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the resource.' },
  ],
};

const providerColumns: PrinterColumn[] = [
  { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Credentials API type.' },
  ...readyColumns,
  { name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Base URL.', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age of the resource.' },
];

export const credentialsProviderKind: KindDefinition = {
  kind: 'CredentialsProvider',
  plural: 'credentialsproviders',
  singular: 'credentialsprovider',
  listKind: 'CredentialsProviderList',
  shortNames: ['cp'],
  categories: ['tokensync'],
  scope: 'Namespaced',
  description:
    'A credentials API and the management credential used to mint tokens for ServiceAccountTokens in its namespace.',
  spec: credentialsProviderSpecSchema,
  status: providerStatusSchema,
  printerColumns: providerColumns,
};

export const clusterCredentialsProviderKind: KindDefinition = {
  kind: 'ClusterCredentialsProvider',
  plural: 'clustercredentialsproviders',
  singular: 'clustercredentialsprovider',
  listKind: 'ClusterCredentialsProviderList',
  shortNames: ['ccp'],
  categories: ['tokensync'],
  scope: 'Cluster',
  description:
    'A credentials API and management credential shared by ServiceAccountTokens in the namespaces its namespaceSelector admits.',
  spec: clusterCredentialsProviderSpecSchema,
  status: providerStatusSchema,
  printerColumns: providerColumns,
};

export const ALL_KINDS = [serviceAccountTokenKind, credentialsProviderKind, clusterCredentialsProviderKind];

export type ServiceAccountToken = KubeObject<ServiceAccountTokenSpec, ServiceAccountTokenStatus>;
export type CredentialsProvider = KubeObject<CredentialsProviderSpec, ProviderStatus>;
export type ClusterCredentialsProvider = KubeObject<ClusterCredentialsProviderSpec, ProviderStatus>;
export type AnyProvider = CredentialsProvider | ClusterCredentialsProvider;

export { API_VERSION, GROUP };
