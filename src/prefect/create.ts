// A create that may meet a 409: the object was created since it was read (another run, or our own
// retried request whose answer was lost), so it is read back and updated instead.
import { ApiError } from '../errors.js';
import { unwrap, type FetchResult } from './client.js';
import { responseOrigins } from './http.js';

/**
 * On PostgreSQL, Prefect 3.7.2 can answer concurrent creates of *different* names with 409, and
 * then there is nothing to read back: the create is sent again, this many times in all.
 */
const CREATE_ATTEMPTS = 3;

/** Objects createOrFind found after a 409 that most likely answered this run's own earlier attempt. */
const ownCreates = new WeakSet<object>();

/**
 * What a kind's apply reports of an object createOrFind found instead of creating it: made
 * meanwhile by someone else, and found as declared or updated to it; nothing when it was this
 * run's own create whose answer was lost (the run did create it).
 */
export function foundMeanwhile(found: object, updated: boolean): 'found-unchanged' | 'found-updated' | undefined {
  if (ownCreates.has(found)) return undefined;
  return updated ? 'found-updated' : 'found-unchanged';
}

/**
 * The same for a create the server makes an upsert (tag limits, deployments): 200 instead of 201
 * means the object existed, made since the read by someone else, and was written over.
 */
export function upsertedMeanwhile(response: Response): 'found-updated' | undefined {
  return response.status === 200 && !responseOrigins.get(response)?.repeated ? 'found-updated' : undefined;
}

/**
 * Sends `create`; on a 409, `find`s the object. Returns undefined when the create succeeded, or
 * the object found to update instead. Throws the server's error for any other failure, and an
 * ApiError naming `what` when three creates met a conflict and nothing could be read back.
 */
export async function createOrFind<T>(request: {
  path: string;
  what: string;
  create: () => Promise<FetchResult<unknown>>;
  find: () => Promise<T | undefined>;
}): Promise<T | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    const created = await request.create();
    if (created.response.status !== 409) {
      await unwrap(created);
      return undefined;
    }
    const found = await request.find();
    // The 409 answered a retry of a create whose first answer was lost: most likely this run's own object.
    if (found && typeof found === 'object' && responseOrigins.get(created.response)?.repeated) ownCreates.add(found);
    if (found) return found;
    if (attempt >= CREATE_ATTEMPTS) {
      throw new ApiError({ status: 409, method: 'POST', path: request.path, detail: `a conflict three times, yet no such ${request.what}` });
    }
  }
}
