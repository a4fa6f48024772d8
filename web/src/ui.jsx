// Small shared pieces: error box, avatar, article preview, pagination,
// follow and favourite buttons, the tables of pay's lists.
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText, fmtDate, t } from './i18n.js';
import { blog, enc, session } from './api.js';
import { navigate } from './router.js';
import { useSignal } from './state.js';

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

// The whole page of an item that did not load: notFound for a 404, the
// status otherwise, and the error in words.
export function LoadFailed({ error, notFound }) {
  return (
    <div class="wrap page">
      <h1>{error.status === 404 ? notFound : t('e_unknown', { status: error.status })}</h1>
      <ErrorBox error={error} />
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

// A follow or favourite button: on says whether it is set, path is the
// blog's POST/DELETE path, onChange gets the blog's answer. Signed out, it
// leads to the sign-in page.
export function ToggleButton({ on, path, kind, onChange, children }) {
  const user = useSignal(session);
  const [run, busy, error] = useAction();
  const click = () =>
    run(async () => {
      if (!user) return navigate('/login');
      onChange(await blog.toggle(path, on));
    });
  return (
    <span class="inline-action">
      <button type="button" class={on ? `btn ${kind} on` : `btn ${kind}`} aria-pressed={on ? 'true' : 'false'} disabled={busy} onClick={click}>
        {children}
      </button>
      <ErrorBox error={error} />
    </span>
  );
}

// Follow or unfollow profile (none on one's own); onChange gets the new
// profile.
export function FollowButton({ profile, onChange }) {
  const user = useSignal(session);
  if (user && user.username === profile.username) return null;
  const name = profile.username;
  return (
    <ToggleButton on={profile.following} path={`/profiles/${enc(name)}/follow`} kind="follow" onChange={(r) => onChange(r.profile)}>
      {profile.following ? t('unfollow', { name }) : t('follow', { name })}
    </ToggleButton>
  );
}

// One page of a pay list ({data, has_more}) as a table: "loading" until
// data or error, empty when it has no rows, otherwise the column heads
// (cols: [label, class]) and row(item) for each item.
export function ListTable({ data, error, empty, cls, cols, row }) {
  return (
    <>
      {!data && !error && <p class="muted">{t('loading')}</p>}
      {data && data.data.length === 0 && <p class="muted">{empty}</p>}
      {data && data.data.length > 0 && (
        <div class="table-wrap">
          <table class={cls}>
            <thead>
              <tr>
                {cols.map(([label, c]) => (
                  <th key={label} scope="col" class={c}>{label}</th>
                ))}
              </tr>
            </thead>
            <tbody>{data.data.map(row)}</tbody>
          </table>
        </div>
      )}
    </>
  );
}

// The newest and older links of a pay list paged by starting_after:
// href(after) is the URL of the page after that id ('' for the newest).
export function CursorNav({ data, after, href }) {
  return (
    <nav class="cursor" aria-label={t('pagination')}>
      {after && <a href={href('')}>{t('newest')}</a>}
      {data && data.has_more && (
        <a rel="next" href={href(data.data[data.data.length - 1].id)}>{t('older')}</a>
      )}
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
