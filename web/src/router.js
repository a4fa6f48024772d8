// History-API routing: real paths (/article/<slug>), which the edge answers
// with index.html. Same-origin link clicks are taken over here.
import { signal } from './state.js';

export const loc = signal(current());

function current() {
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function navigate(to, replace) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  loc.set(current());
  window.scrollTo(0, 0);
}

addEventListener('popstate', () => loc.set(current()));

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/pay/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

// ["article", ":slug"] against "/article/abc" -> {slug: "abc"} (decoded).
export function match(pattern, path) {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const out = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      try {
        out[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return out;
}
