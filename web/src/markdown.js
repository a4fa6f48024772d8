// Markdown to safe HTML: marked renders, DOMPurify removes anything that
// could run or load script (script/style/iframe/object/form elements, on*
// attributes, javascript: URLs). Loaded only on the article page.
import { marked } from 'marked';
import DOMPurify from 'dompurify';

// Raw HTML in an article is shown as text, not parsed: Markdown covers what
// authors need, and nothing an author types becomes an element or an
// attribute. DOMPurify still checks everything marked produces.
const escapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => escapes[c]);
marked.use({
  gfm: true,
  breaks: false,
  renderer: {
    html(token) {
      return escape(token.text);
    },
  },
});

// Links written by authors leave the site without the referrer and cannot
// reach back through window.opener.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.getAttribute('href')) {
    node.setAttribute('rel', 'noopener noreferrer nofollow ugc');
  }
  // Pictures from other origins would be an outside request (and the CSP
  // refuses them anyway): keep the alternative text instead.
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src') || '';
    let ok = false;
    try {
      ok = new URL(src, location.href).origin === location.origin;
    } catch {
      ok = false;
    }
    if (!ok) {
      const span = node.ownerDocument.createElement('span');
      span.className = 'img-alt';
      span.textContent = node.getAttribute('alt') || '';
      node.replaceWith(span);
    }
  }
});

export function renderMarkdown(src) {
  const html = marked.parse(String(src || ''), { async: false });
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    FORBID_ATTR: ['style'],
  });
}
