import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';

/**
 * The data file: what `--data-file` survives a restart with. It holds service accounts and token metadata with
 * SHA-256 digests, never a token value, so the file is no more sensitive than an audit log.
 */
const tokenRecordSchema = z.object({
  serviceAccountId: z.string(),
  name: z.string(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  readOnly: z.boolean(),
  scopes: z.array(z.string()),
  maxRps: z.number().nullable(),
  status: z.enum(['ACTIVE', 'SUSPENDED']),
  description: z.string().nullable(),
  lastUsedAt: z.number().nullable(),
  domain: z.string().nullable(),
});

const serviceAccountRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  groups: z.array(z.string()),
  createdAt: z.number(),
});

export const persistedStateSchema = z.object({
  version: z.literal(1),
  serviceAccounts: z.array(serviceAccountRecordSchema),
  tokens: z.array(tokenRecordSchema),
});
export type PersistedState = z.infer<typeof persistedStateSchema>;

/** undefined when the file does not exist yet (first start). A corrupt file is an error, never silently reset. */
export async function loadState(file: string): Promise<PersistedState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`credentials-api data file ${file} is not valid JSON`);
  }
  const parsed = persistedStateSchema.safeParse(json);
  if (!parsed.success) throw new Error(`credentials-api data file ${file} has an unexpected shape`);
  return parsed.data;
}

/**
 * Write to a temp file in the same directory, fsync it, rename over the target, fsync the directory. rename is
 * atomic on POSIX, so a crash at any point leaves either the old file or the new one, never a torn mix.
 */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', 0o600);
  try {
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  // Without this the rename itself may not survive a power loss on some filesystems.
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync().catch(() => {});
  } finally {
    await dirHandle.close();
  }
}

/**
 * Serialises writes and coalesces bursts: while one write runs, any number of further requests share a single
 * follow-up write, which snapshots the state when it starts and so includes every change made before it. Callers
 * await the returned promise, so a 201 is only sent once the change is on disk.
 */
export class CoalescingWriter {
  readonly #write: () => Promise<void>;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;

  constructor(write: () => Promise<void>) {
    this.#write = write;
  }

  request(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (!this.#running) return this.#start();
    this.#queued = this.#running
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    return this.#queued;
  }

  /** Resolves once every requested write has finished (used by close()). */
  async idle(): Promise<void> {
    while (this.#running || this.#queued) {
      await (this.#queued ?? this.#running)?.catch(() => {});
    }
  }

  #start(): Promise<void> {
    // Deferred a microtask, so `run` is assigned before `finally` can read it even if write throws synchronously.
    const run: Promise<void> = Promise.resolve()
      .then(() => this.#write())
      .finally(() => {
        if (this.#running === run) this.#running = undefined;
      });
    this.#running = run;
    return run;
  }
}
