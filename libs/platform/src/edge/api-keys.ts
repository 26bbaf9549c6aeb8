import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * API-key authentication of the service's edge (REST header and gRPC metadata `x-api-key`).
 * No keys configured means the API is open. Keys are compared through their SHA-256
 * digests with a constant-time comparison, so response timing does not leak a key's prefix.
 */
export const API_KEY_HEADER = 'x-api-key';

export type ApiKeyVerdict = 'open' | 'accepted' | 'missing' | 'rejected';

export class ApiKeys {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  get required(): boolean {
    return this.digests.length > 0;
  }

  check(presented: unknown): ApiKeyVerdict {
    if (!this.required) return 'open';
    if (typeof presented !== 'string' || presented === '') return 'missing';
    const d = digest(presented);
    let match = false;
    // Every key is compared, so the time taken does not say which one matched.
    for (const k of this.digests) match = timingSafeEqual(k, d) || match;
    return match ? 'accepted' : 'rejected';
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export const API_KEY_MESSAGES = {
  missing: `an API key is required: send it in the ${API_KEY_HEADER} header`,
  rejected: 'the API key is not valid for this service',
} as const;
