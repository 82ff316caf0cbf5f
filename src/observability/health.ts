import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Probe {
  healthy(): boolean;
  ready(): { ok: boolean; reason?: string };
}

export function parseBindAddress(address: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) throw new Error(`bind address "${address}" must be host:port or :port`);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}

/** Listens on host:port (`:port` = all interfaces) and returns the URL it serves. */
export async function listen(server: Server | HttpsServer, bind: string, scheme = 'http'): Promise<string> {
  const { host, port } = parseBindAddress(bind);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const info = server.address() as AddressInfo;
  return `${scheme}://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
}

/** /healthz and /readyz, as controller-runtime serves them. */
export async function startHealthServer(bind: string, probe: Probe): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz' || req.url === '/livez') {
      const ok = probe.healthy();
      res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'ok' : 'unhealthy');
    } else if (req.url === '/readyz') {
      const { ok, reason } = probe.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok' : `not ready: ${reason ?? ''}`);
    } else {
      res.writeHead(404).end();
    }
  });
  const url = await listen(server, bind);
  return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
