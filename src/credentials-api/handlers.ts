import type { IncomingHttpHeaders } from 'node:http';
import { bearer, canManage, type Principal } from './auth.ts';
import { ApiError, badRequest, conflict, notFound, sameGroupForbidden, unauthorized } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import type { Logger } from './logger.ts';
import {
  createServiceAccountSchema,
  createTokenSchema,
  faultsSchema,
  parseBody,
  patchTokenSchema,
  SERVICE_ACCOUNT_ID_PATTERN,
} from './schemas.ts';
import type { Stats } from './stats.ts';
import { isExpired, type ServiceAccountRecord, type Store, type TokenRecord } from './store.ts';
import { generateTokenValue, hashSecret } from './token-value.ts';

export interface HandlerDeps {
  store: Store;
  stats: Stats;
  faults: FaultInjector;
  now: () => number;
  autoCreateServiceAccounts: boolean;
  logger: Logger;
}

export interface RequestContext {
  params: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
  /** Set on every route that requires a management key (the server authenticates before calling the handler). */
  principal: Principal | undefined;
  /** The parsed JSON body; throws a 400 on invalid JSON. Lazy, so a GET with a junk body is not an error. */
  json(): unknown;
}

export interface Reply {
  status: number;
  /** JSON-serialised. Absent for 204. */
  body?: unknown;
  /** Plain text instead of JSON (healthz). */
  text?: string;
  /**
   * What a "malformed" fault may truncate instead of `body`: the same answer without the token value, so even a
   * garbled mint response leaks no part of a value.
   */
  redacted?: unknown;
}

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The API view of a token (everything but the value). */
export function tokenView(token: TokenRecord) {
  return {
    name: token.name,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    readOnly: token.readOnly,
    scopes: [...token.scopes],
    maxRps: token.maxRps,
    status: token.status,
    description: token.description,
    lastUsedAt: iso(token.lastUsedAt),
  };
}

function serviceAccountView(account: ServiceAccountRecord) {
  return { id: account.id, name: account.name, groups: [...account.groups], createdAt: iso(account.createdAt) };
}

/*
 * Error messages never echo names or ids from the request: a client that mistakenly puts a token value in a path
 * or a name field must not find it again in an error it logs. The client knows what it asked for.
 */

function principalOf(ctx: RequestContext): Principal {
  if (!ctx.principal) throw unauthorized();
  return ctx.principal;
}

export function createHandlers(deps: HandlerDeps) {
  const { store, stats, faults, now, logger } = deps;

  /** The account of a token route, enforcing existence and the same-group rule (404 before 403, like IOMETE). */
  async function accountFor(ctx: RequestContext, options: { create: boolean }): Promise<ServiceAccountRecord> {
    const principal = principalOf(ctx);
    const id = ctx.params['sa']!;
    let account = store.getServiceAccount(id);
    if (!account && options.create && deps.autoCreateServiceAccounts) {
      if (!SERVICE_ACCOUNT_ID_PATTERN.test(id)) {
        throw badRequest('invalid_request', 'Service account id must be 1-128 characters from A-Z a-z 0-9 . _ @ : -');
      }
      account = { id, name: id, groups: [], createdAt: now() };
      store.createServiceAccount(account);
      await store.persist();
      logger.info({ serviceAccountId: id }, 'credentials-api: service account auto-created');
    }
    if (!account) throw notFound('service_account_not_found', 'Service account not found');
    if (!canManage(principal, account)) throw sameGroupForbidden();
    return account;
  }

  function tokenOf(account: ServiceAccountRecord, name: string): TokenRecord {
    const token = store.getToken(account.id, name);
    if (!token) throw notFound('token_not_found', 'Token not found in this service account');
    return token;
  }

  return {
    healthz: (): Reply => ({ status: 200, text: 'ok' }),

    listServiceAccounts: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      return { status: 200, body: store.listServiceAccounts().map(serviceAccountView) };
    },

    createServiceAccount: async (ctx: RequestContext): Promise<Reply> => {
      principalOf(ctx);
      const body = parseBody(createServiceAccountSchema, ctx.json());
      const account: ServiceAccountRecord = {
        id: body.id,
        name: body.name ?? body.id,
        groups: [...new Set(body.groups ?? [])],
        createdAt: now(),
      };
      if (!store.createServiceAccount(account)) {
        throw conflict('service_account_exists', 'A service account with this id already exists');
      }
      await store.persist();
      logger.info({ serviceAccountId: account.id }, 'credentials-api: service account created');
      return { status: 201, body: serviceAccountView(account) };
    },

    getServiceAccount: async (ctx: RequestContext): Promise<Reply> => {
      const account = await accountFor(ctx, { create: false });
      return { status: 200, body: serviceAccountView(account) };
    },

    deleteServiceAccount: async (ctx: RequestContext): Promise<Reply> => {
      const account = await accountFor(ctx, { create: false });
      const revoked = store.deleteServiceAccount(account.id) ?? 0;
      stats.revokes += revoked;
      await store.persist();
      logger.info({ serviceAccountId: account.id, revoked }, 'credentials-api: service account deleted');
      return { status: 204 };
    },

    listTokens: async (ctx: RequestContext): Promise<Reply> => {
      const account = await accountFor(ctx, { create: false });
      return { status: 200, body: store.listTokens(account.id).map(tokenView) };
    },

    createToken: async (ctx: RequestContext): Promise<Reply> => {
      // Validate before touching state, so a bad body never auto-creates a service account.
      principalOf(ctx);
      const body = parseBody(createTokenSchema, ctx.json());
      const createdAt = now();
      let expiresAt: number | null = null;
      if (body.expiresAt != null) {
        expiresAt = Date.parse(body.expiresAt);
        if (!(expiresAt > createdAt)) throw badRequest('invalid_request', 'expiresAt must be in the future');
      }
      // A vendor policy may grant less than asked (Customer.io's JWTs live about an hour): the answer says so.
      const cap = faults.maxTokenLifetimeMs();
      if (cap !== undefined && (expiresAt === null || expiresAt > createdAt + cap)) expiresAt = createdAt + cap;
      const account = await accountFor(ctx, { create: true });
      const value = generateTokenValue();
      const result = store.createToken(
        {
          serviceAccountId: account.id,
          name: body.name,
          hash: hashSecret(value),
          createdAt,
          expiresAt,
          readOnly: body.readOnly ?? false,
          scopes: [...(body.scopes ?? [])],
          maxRps: body.maxRps ?? null,
          description: body.description ?? null,
          domain: ctx.params['domain'] ?? null,
        },
        createdAt,
      );
      if (result === 'conflict') {
        throw conflict('token_exists', 'A live token with this name already exists in this service account');
      }
      if (result === 'no_account') {
        // Deleted concurrently while we persisted the auto-created account.
        throw notFound('service_account_not_found', 'Service account not found');
      }
      stats.mints += 1;
      await store.persist();
      logger.info(
        { serviceAccountId: account.id, token: result.name, domain: result.domain, expiresAt: iso(result.expiresAt) },
        'credentials-api: token minted',
      );
      const { lastUsedAt: _lastUsedAt, ...view } = tokenView(result);
      // Field order of IOMETE's create response; `token` is the only place a value ever leaves the server.
      return {
        status: 201,
        body: {
          name: view.name,
          token: value,
          createdAt: view.createdAt,
          expiresAt: view.expiresAt,
          readOnly: view.readOnly,
          scopes: view.scopes,
          maxRps: view.maxRps,
          status: view.status,
          description: view.description,
        },
        redacted: view,
      };
    },

    getToken: async (ctx: RequestContext): Promise<Reply> => {
      const account = await accountFor(ctx, { create: false });
      return { status: 200, body: tokenView(tokenOf(account, ctx.params['name']!)) };
    },

    patchToken: async (ctx: RequestContext): Promise<Reply> => {
      principalOf(ctx);
      const body = parseBody(patchTokenSchema, ctx.json());
      const account = await accountFor(ctx, { create: false });
      const token = tokenOf(account, ctx.params['name']!);
      store.updateToken(account.id, token.name, body);
      await store.persist();
      logger.info(
        { serviceAccountId: account.id, token: token.name, status: token.status, maxRps: token.maxRps },
        'credentials-api: token updated',
      );
      return { status: 200, body: tokenView(token) };
    },

    deleteToken: async (ctx: RequestContext): Promise<Reply> => {
      const account = await accountFor(ctx, { create: false });
      const token = tokenOf(account, ctx.params['name']!);
      store.deleteToken(account.id, token.name);
      stats.revokes += 1;
      await store.persist();
      logger.info({ serviceAccountId: account.id, token: token.name }, 'credentials-api: token revoked');
      return { status: 204 };
    },

    /**
     * RFC 7662 in spirit: the workload proves possession of its own token, nothing else. Anything that is not a
     * usable token is simply `{ active: false }`, with no hint of why, so the endpoint is no oracle.
     */
    introspect: async (ctx: RequestContext): Promise<Reply> => {
      const presented = bearer(ctx.headers);
      if (presented === undefined) {
        throw new ApiError(401, 'unauthorized', 'Missing Authorization: Bearer <token>', {
          'www-authenticate': 'Bearer',
        });
      }
      const token = store.findByHash(hashSecret(presented));
      const at = now();
      const inactive: Reply = { status: 200, body: { active: false } };
      if (!token) return inactive;
      if (token.status !== 'ACTIVE' || isExpired(token, at)) return inactive;
      token.lastUsedAt = at;
      await store.persist();
      return {
        status: 200,
        body: {
          active: true,
          serviceAccountId: token.serviceAccountId,
          name: token.name,
          readOnly: token.readOnly,
          scopes: [...token.scopes],
          expiresAt: iso(token.expiresAt),
          status: token.status,
        },
      };
    },

    liveTokens: (ctx: RequestContext): Reply => {
      const principal = principalOf(ctx);
      const body = store
        .liveTokens(now())
        .filter((token) => {
          const account = store.getServiceAccount(token.serviceAccountId);
          return account !== undefined && canManage(principal, account);
        })
        .map((token) => ({
          serviceAccountId: token.serviceAccountId,
          name: token.name,
          createdAt: iso(token.createdAt),
          expiresAt: iso(token.expiresAt),
          readOnly: token.readOnly,
          description: token.description,
        }));
      return { status: 200, body };
    },

    stats: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      return { status: 200, body: stats.snapshot() };
    },

    resetStats: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      stats.reset();
      return { status: 204 };
    },

    getFaults: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      return { status: 200, body: faults.get() };
    },

    putFaults: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      const config = faults.set(parseBody(faultsSchema, ctx.json()));
      logger.info({ faults: config }, 'credentials-api: faults configured');
      return { status: 200, body: config };
    },

    clearFaults: (ctx: RequestContext): Reply => {
      principalOf(ctx);
      faults.clear();
      logger.info({}, 'credentials-api: faults cleared');
      return { status: 204 };
    },
  };
}

export type Handlers = ReturnType<typeof createHandlers>;
