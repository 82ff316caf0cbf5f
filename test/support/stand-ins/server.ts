import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny loopback HTTP server for vendor stand-ins: each stand-in is written from the vendor's public docs
 * (/work/shared/seeds), not from tokensync's adapters, so a test against it checks the adapter against the docs.
 */
export interface StandInRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Raw body text. */
  body: string;
}

export interface StandInResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RunningStandIn {
  url: string;
  /** Every request received, in order (bodies included: stand-ins hold test values only). */
  requests: StandInRequest[];
  close(): Promise<void>;
}

export async function startStandIn(handle: (req: StandInRequest) => StandInResponse): Promise<RunningStandIn> {
  const requests: StandInRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: StandInRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      let response: StandInResponse;
      try {
        response = handle(request);
      } catch (error) {
        response = { status: 500, body: { message: error instanceof Error ? error.message : 'stand-in failure' } };
      }
      const text = response.body === undefined ? '' : JSON.stringify(response.body);
      res.writeHead(response.status, {
        ...(text ? { 'content-type': 'application/json' } : {}),
        ...response.headers,
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** JSON body or undefined when absent; throws on invalid JSON (the stand-in answers 500, the test fails). */
export function jsonBody(req: StandInRequest): unknown {
  return req.body === '' ? undefined : JSON.parse(req.body);
}

/** Fields of `body` not in `allowed`: a strict API refuses them. */
export function unknownFields(body: unknown, allowed: readonly string[]): string[] {
  if (typeof body !== 'object' || body === null) return [];
  return Object.keys(body).filter((key) => !allowed.includes(key));
}
