// Posting to a webview that may be gone: a failed post (sync or async) is logged, never thrown.
import { errorMessage } from '../engine/errors';

export function postSafely<M>(
  post: (m: M) => void | PromiseLike<unknown>,
  message: M,
  log: (line: string) => void,
): void {
  try {
    const p = post(message);
    if (p && typeof p.then === 'function')
      p.then(undefined, (e: unknown) => log(`posting to the webview failed: ${errorMessage(e)}`));
  } catch (e) {
    log(`posting to the webview failed: ${errorMessage(e)}`);
  }
}
