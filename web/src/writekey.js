// One Idempotency-Key per blog write intent: the same content sent again
// (a double click, a retry after a network failure) carries the same key,
// so the blog makes one article or comment; new content, or the same
// content after a success (done()), gets a new key.
import { useRef } from 'preact/hooks';
import { newKey } from './api.js';

export function useWriteKey(intent) {
  const ref = useRef({ intent: null, key: null });
  const key = () => {
    if (ref.current.intent !== intent || !ref.current.key) ref.current = { intent, key: newKey() };
    return ref.current.key;
  };
  key.done = () => {
    ref.current = { intent: null, key: null };
  };
  return key;
}
