// The manifests under deploy/samples/, parsed, for the unit tests (zod) and the integration tests (API server).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SAMPLES_DIR } from './paths.ts';

export interface SampleDoc {
  file: string;
  /** "Kind/name" */
  id: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: unknown };
}

export function sampleFiles(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

export function sampleDocs(file?: string): SampleDoc[] {
  return (file ? [file] : sampleFiles()).flatMap((f) => {
    const text = readFileSync(join(SAMPLES_DIR, f), 'utf8');
    return parseAllDocuments(text)
      .map((d) => {
        if (d.errors.length) throw new Error(`${f}: ${d.errors.map((e) => e.message).join('; ')}`);
        return d.toJS() as SampleDoc['object'] | null;
      })
      .filter((o): o is SampleDoc['object'] => o !== null)
      .map((object) => ({ file: f, id: `${object.kind}/${object.metadata.name}`, object }));
  });
}
