// One Idempotency-Key per blog write intent: the same content sent again
// (a double click, a retry after a network failure) carries the same key,
// so the blog makes one article or comment; new content, or the same
// content after a success (done()), gets a new key.
import { useRef } from 'preact/hooks';
import { newKey, retryable } from './api.js';

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

// The same for a pay write, whose intent is known only once the form is
// read (the amount in minor units): take(fields) gives the kept intent when
// its fields match, else a new one with a new key; send(intent, fn) calls
// fn(key) and ends the intent once its outcome is final: a success, or a
// failure that is not retryable (api.js). After an unknown outcome the same
// fields are sent again with the same key, and pay moves the money once.
export function usePayIntent() {
  const ref = useRef(null);
  const take = (fields) => {
    const it = ref.current;
    const same = it && Object.keys(fields).every((k) => it[k] === fields[k]);
    if (!same) ref.current = { ...fields, key: newKey() };
    return ref.current;
  };
  const send = async (it, fn) => {
    let r;
    try {
      r = await fn(it.key);
    } catch (e) {
      if (!retryable(e) && ref.current === it) ref.current = null;
      throw e;
    }
    if (ref.current === it) ref.current = null;
    return r;
  };
  return [take, send];
}
