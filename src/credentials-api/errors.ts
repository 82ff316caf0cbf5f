/**
 * Every failure the server answers with is an ApiError: one place decides the wire shape
 * `{ "error": "<snake_code>", "message": "<human text>" }`. Messages are written by this module's callers from
 * names and ids only, never from request bodies or headers, so no token value or key can end up in an error.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Missing or invalid API key (use Authorization: Bearer <key> or X-API-Token)', {
    'www-authenticate': 'Bearer',
  });
export const sameGroupForbidden = () =>
  new ApiError(403, 'forbidden', 'You must be in the same group as this service account to view and manage tokens');
export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);
export const rateLimited = (retryAfterSeconds: number) =>
  new ApiError(429, 'rate_limited', `Too many requests; retry after ${retryAfterSeconds}s`, {
    'retry-after': String(retryAfterSeconds),
  });
