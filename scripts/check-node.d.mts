// Types of check-node.mjs (plain JavaScript so that it runs on the old Node it rejects).
export function parseVersion(text: string): [number, number, number] | undefined;
export function satisfies(version: string, range: string): boolean;
export function engineRange(packageJsonPath: string): string;
