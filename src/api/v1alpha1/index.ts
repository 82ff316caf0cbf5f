export * from './common.ts';
export * from './conditions.ts';
export * from './kinds.ts';
export * from './provider.ts';
export * from './rotation.ts';
export * from './service-account-token.ts';
