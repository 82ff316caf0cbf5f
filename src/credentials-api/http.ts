import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './errors.ts';

/** Largest accepted request body. Real bodies are a few hundred bytes; anything near this is a bug or abuse. */
export const MAX_BODY_BYTES = 64 * 1024;
/**
 * Past the limit we keep reading (and discarding) up to this many bytes before answering 413, so the client has
 * finished sending and reads the 413 instead of a connection reset. Beyond it we answer and close the connection.
 */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

const tooLarge = (close: boolean) =>
  new ApiError(
    413,
    'payload_too_large',
    `Request body exceeds ${MAX_BODY_BYTES} bytes`,
    close ? { connection: 'close' } : {},
  );

export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
      } else if (size > DRAIN_LIMIT_BYTES) {
        req.pause();
        settle(() => reject(tooLarge(true)));
      } else {
        chunks.length = 0;
      }
    });
    req.on('end', () =>
      settle(() => (size > MAX_BODY_BYTES ? reject(tooLarge(false)) : resolve(Buffer.concat(chunks)))),
    );
    req.on('error', (error) => settle(() => reject(error)));
    // A client that hangs up mid-body: nothing to answer, but the promise must not dangle.
    req.on('close', () => settle(() => reject(new ApiError(400, 'aborted', 'Client closed the request'))));
  });
}

/** An empty body is `{}`, so PATCH/PUT with no fields and body-less POSTs validate like an empty object. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError(400, 'invalid_json', 'Request body is not valid JSON');
  }
}

/** Every JSON answer: no-store, because a mint response carries a value that must not sit in any cache. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  sendRaw(res, status, JSON.stringify(body), 'application/json; charset=utf-8', headers);
}

export function sendRaw(
  res: ServerResponse,
  status: number,
  payload: string,
  contentType: string | undefined,
  headers: Record<string, string> = {},
) {
  if (res.headersSent || res.destroyed) return;
  const all: Record<string, string | number> = { 'cache-control': 'no-store', ...headers };
  if (status !== 204 && contentType) {
    all['content-type'] = contentType;
    all['content-length'] = Buffer.byteLength(payload);
  }
  res.writeHead(status, all);
  res.end(status === 204 ? undefined : payload);
}

export function sendError(res: ServerResponse, error: ApiError) {
  sendJson(res, error.status, { error: error.code, message: error.message }, error.headers);
}
