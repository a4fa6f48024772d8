import { useEffect, useState } from 'preact/hooks';
import { blog, enc, qs, session } from '../api.js';
import { t } from '../i18n.js';
import { loc } from '../router.js';
import { useSignal } from '../state.js';
import { ArticlePreview, ErrorBox, Pager, useTitle } from '../ui.jsx';

export const PAGE_SIZE = 10;

// A list of article previews with favourite buttons and pagination; used by
// the home page and the profile tabs.
export function ArticleList({ path, params, page, pageHref }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(null);
  const user = useSignal(session);
  const key = path + qs(params) + page;
  useEffect(() => {
    let live = true;
    setData(null);
    setError(null);
    blog
      .get(path + qs({ ...params, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }))
      .then((d) => live && setData(d))
      .catch((e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [key]);

  async function onFavorite(a) {
    if (!user) {
      setError({ status: 401, api: 'blog', fields: [] });
      return;
    }
    setBusy(a.slug);
    try {
      const p = `/articles/${enc(a.slug)}/favorite`;
      const r = await blog.toggle(p, a.favorited);
      setData((d) => ({ ...d, articles: d.articles.map((x) => (x.slug === a.slug ? { ...r.article } : x)) }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  }

  return (
    <div class="list" aria-busy={data ? 'false' : 'true'}>
      <ErrorBox error={error} />
      {!data && !error && <p class="muted">{t('loading')}</p>}
      {data && data.articles.length === 0 && <p class="muted empty">{t('no_articles')}</p>}
      {data &&
        data.articles.map((a) => (
          <ArticlePreview key={a.slug} article={a} onFavorite={onFavorite} busy={busy === a.slug} />
        ))}
      {data && <Pager count={data.articlesCount} limit={PAGE_SIZE} page={page} href={pageHref} />}
    </div>
  );
}

function Tags() {
  const [tags, setTags] = useState(null);
  useEffect(() => {
    blog.get('/tags').then((d) => setTags(d.tags), () => setTags([]));
  }, []);
  return (
    <aside class="sidebar" aria-labelledby="tags-h">
      <h2 id="tags-h">{t('popular_tags')}</h2>
      {!tags && <p class="muted">{t('loading')}</p>}
      {tags && tags.length === 0 && <p class="muted">{t('no_tags')}</p>}
      {tags && (
        <ul class="tags">
          {tags.slice(0, 40).map((tag) => (
            <li key={tag}>
              <a class="tag" href={`/?tag=${enc(tag)}`}>{tag}</a>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}

export function Home() {
  const where = useSignal(loc);
  const user = useSignal(session);
  const q = where.query;
  const tag = q.get('tag') || '';
  const feed = tag ? 'tag' : q.get('feed') === 'you' && user ? 'you' : 'global';
  const page = Math.max(1, parseInt(q.get('page') || '1', 10) || 1);
  useTitle(tag ? '#' + tag : null);
  const base = feed === 'tag' ? { tag } : feed === 'you' ? { feed: 'you' } : {};
  const tab = (id, href, label) => (
    <li>
      <a href={href} aria-current={feed === id ? 'page' : undefined}>{label}</a>
    </li>
  );
  return (
    <>
      {!user && (
        <section class="banner">
          <div class="wrap">
            <h1 class="logo">{t('brand')}</h1>
            <p>{t('tagline')}</p>
          </div>
        </section>
      )}
      <div class="wrap page home">
        <div class="col-main">
          {user && <h1 class="sr-only">{t('nav_home')}</h1>}
          <nav class="tabs" aria-label={t('feeds')}>
            <ul>
              {user && tab('you', '/?feed=you', t('feed_you'))}
              {tab('global', '/', t('feed_global'))}
              {tag && tab('tag', `/?tag=${enc(tag)}`, t('feed_tag', { tag }))}
            </ul>
          </nav>
          <ArticleList
            path={feed === 'you' ? '/articles/feed' : '/articles'}
            params={feed === 'tag' ? { tag } : {}}
            page={page}
            pageHref={(n) => '/' + qs({ ...base, page: n > 1 ? n : '' })}
          />
        </div>
        <Tags />
      </div>
    </>
  );
}
