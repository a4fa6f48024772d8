// A tiny observable value (the signed-in user, the language) that pages
// subscribe to with useSignal.
import { useEffect, useState } from 'preact/hooks';

export function signal(value) {
  const subs = new Set();
  return {
    get: () => value,
    set(v) {
      value = v;
      for (const f of subs) f(v);
    },
    subscribe(f) {
      subs.add(f);
      return () => subs.delete(f);
    },
  };
}

export function useSignal(s) {
  const [v, setV] = useState(s.get());
  useEffect(() => s.subscribe(setV), [s]);
  return v;
}
