// Small shared pieces: error box, avatar, article preview, pagination.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, fmtDate, t } from './i18n.js';
import { enc } from './api.js';

export function ErrorBox({ error }) {
  const ref = useRef(null);
  useEffect(() => {
    if (error && ref.current) ref.current.focus();
  }, [error]);
  if (!error) return null;
  const text = typeof error === 'string' ? error : errorText(error);
  return (
    <div class="error" role="alert" tabIndex={-1} ref={ref} data-status={error.status ?? ''}>
      {text}
    </div>
  );
}

export function Notice({ text }) {
  if (!text) return null;
  return <div class="notice" role="status">{text}</div>;
}

// Only pictures from this site (or data: images) are shown: the CSP allows
// no other origin, and the site makes no outside request.
function safeImage(url) {
  if (!url) return null;
  try {
    const u = new URL(url, location.href);
    if (u.origin === location.origin && (u.protocol === 'http:' || u.protocol === 'https:')) return u.href;
    if (u.protocol === 'data:' && /^data:image\/(png|jpeg|gif|webp);/.test(url)) return url;
  } catch {
    return null;
  }
  return null;
}

export function Avatar({ profile, size = 'sm' }) {
  const src = safeImage(profile && profile.image);
  const name = (profile && profile.username) || '?';
  if (src) return <img class={`avatar ${size}`} src={src} alt="" width={size === 'lg' ? 96 : 32} height={size === 'lg' ? 96 : 32} />;
  return (
    <span class={`avatar ${size} initials`} aria-hidden="true">
      {Array.from(name)[0].toUpperCase()}
    </span>
  );
}

export function AuthorLine({ article }) {
  const a = article.author;
  return (
    <div class="meta">
      <a href={`/profile/${enc(a.username)}`} tabIndex={-1} aria-hidden="true">
        <Avatar profile={a} />
      </a>
      <div class="info">
        <a class="author" href={`/profile/${enc(a.username)}`}>{a.username}</a>
        <time class="date" dateTime={article.createdAt}>{fmtDate(article.createdAt)}</time>
      </div>
    </div>
  );
}

export function ArticlePreview({ article, onFavorite, busy }) {
  return (
    <article class="preview">
      <div class="preview-head">
        <AuthorLine article={article} />
        <button
          type="button"
          class={article.favorited ? 'btn fav on' : 'btn fav'}
          aria-pressed={article.favorited ? 'true' : 'false'}
          disabled={busy}
          onClick={() => onFavorite(article)}
        >
          <span aria-hidden="true">♥</span>
          <span class="sr-only">{t('favorite_of', { title: article.title })}</span> {article.favoritesCount}
        </button>
      </div>
      <a class="preview-link" href={`/article/${enc(article.slug)}`}>
        <h2 class="title">{article.title}</h2>
        <p class="desc">{article.description}</p>
        <span class="more">{t('read_more')}</span>
      </a>
      {article.tagList.length > 0 && (
        <ul class="tags" aria-label={t('tags')}>
          {article.tagList.map((tag) => (
            <li key={tag}>
              <a class="tag" href={`/?tag=${enc(tag)}`}>{tag}</a>
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

export function Pager({ count, limit, page, href }) {
  const pages = Math.ceil(count / limit);
  if (pages <= 1) return null;
  const shown = [];
  for (let i = 1; i <= pages; i++) {
    if (i === 1 || i === pages || Math.abs(i - page) <= 2) shown.push(i);
    else if (shown[shown.length - 1] !== '…') shown.push('…');
  }
  return (
    <nav class="pager" aria-label={t('pagination')}>
      <ul>
        {shown.map((i, n) =>
          i === '…' ? (
            <li key={'gap' + n} aria-hidden="true">…</li>
          ) : (
            <li key={i}>
              <a href={href(i)} aria-label={t('page_n', { n: i })} aria-current={i === page ? 'page' : undefined}>
                {i}
              </a>
            </li>
          ),
        )}
      </ul>
    </nav>
  );
}

// Runs an async action once at a time; returns [run, busy, error, setError].
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const inflight = useRef(false);
  async function run(fn) {
    if (inflight.current) return undefined;
    inflight.current = true;
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      inflight.current = false;
      setBusy(false);
    }
  }
  return [run, busy, error, setError];
}

export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} — conduit` : 'conduit';
  }, [title]);
}
