import { useEffect, useRef, useState } from 'preact/hooks';
import { blog, enc, newKey, pay, retryable, session } from '../api.js';
import { fmtDate, fmtMoney, locale, readAmount, t } from '../i18n.js';
import { loadCurrencies } from '../currencies.js';
import { navigate } from '../router.js';
import { useSignal } from '../state.js';
import { Avatar, ErrorBox, FollowButton, LoadFailed, Notice, ToggleButton, useAction, useTitle } from '../ui.jsx';
import { useWriteKey } from '../writekey.js';

function Markdown({ source }) {
  const [html, setHtml] = useState(null);
  const ref = useRef(null);
  useEffect(() => {
    let live = true;
    import('../markdown.js').then((m) => live && setHtml(m.renderMarkdown(source)));
    return () => {
      live = false;
    };
  }, [source]);
  useEffect(() => {
    // Sanitised by DOMPurify in markdown.js; assigned here, never parsed as
    // part of a template.
    if (ref.current && html !== null) ref.current.innerHTML = html;
  }, [html]);
  return <div class="markdown" ref={ref} aria-busy={html === null ? 'true' : 'false'} />;
}

function FavoriteButton({ article, onChange }) {
  const n = article.favoritesCount;
  return (
    <ToggleButton on={article.favorited} path={`/articles/${enc(article.slug)}/favorite`} kind="fav" onChange={(r) => onChange(r.article)}>
      <span aria-hidden="true">♥ </span>
      {article.favorited ? t('unfavorite_n', { n }) : t('favorite_n', { n })}
    </ToggleButton>
  );
}

function ArticleActions({ article, setArticle }) {
  const user = useSignal(session);
  const [run, busy, error] = useAction();
  const delKey = useWriteKey('delete:' + article.slug);
  const mine = user && user.username === article.author.username;
  const del = () =>
    run(async () => {
      if (!window.confirm(t('confirm_delete'))) return;
      await blog.del(`/articles/${enc(article.slug)}`, delKey());
      navigate('/');
    });
  return (
    <div class="actions">
      <div class="author-card">
        <a href={`/profile/${enc(article.author.username)}`} tabIndex={-1} aria-hidden="true">
          <Avatar profile={article.author} />
        </a>
        <div class="info">
          <a class="author" href={`/profile/${enc(article.author.username)}`}>{article.author.username}</a>
          <time dateTime={article.createdAt}>{fmtDate(article.createdAt)}</time>
        </div>
      </div>
      <div class="buttons">
        {mine ? (
          <>
            <a class="btn" href={`/editor/${enc(article.slug)}`}>{t('edit_article')}</a>
            <button type="button" class="btn danger" disabled={busy} onClick={del}>{t('delete_article')}</button>
          </>
        ) : (
          <>
            <FollowButton profile={article.author} onChange={(p) => setArticle({ ...article, author: p })} />
            <FavoriteButton article={article} onChange={(a) => setArticle(a)} />
          </>
        )}
        {mine && <FavoriteButton article={article} onChange={(a) => setArticle(a)} />}
      </div>
      <ErrorBox error={error} />
    </div>
  );
}

// A tip intent: what the reader asked to pay, and the Idempotency-Key made
// for it. It is kept in localStorage before the request leaves, so a double
// click, a retry or a reload mid-request sends the same key again and the
// author is paid once. It is dropped once the outcome is known.
function intentKey(payer, slug) {
  return `conduit.tip.${payer}.${slug}`;
}
function loadIntent(payer, slug) {
  try {
    return JSON.parse(localStorage.getItem(intentKey(payer, slug)) || 'null');
  } catch {
    return null;
  }
}

function TipBox({ article }) {
  const user = useSignal(session);
  const author = article.author.username;
  const [currencies, setCurrencies] = useState(null);
  const [currency, setCurrency] = useState(locale() === 'zh-CN' ? 'CNY' : 'USD');
  const [amount, setAmount] = useState('');
  const [done, setDone] = useState(null);

  const [resume, setResume] = useState(null);
  const [invalid, setInvalid] = useState(null);
  const [run, busy, error, setError] = useAction();

  useEffect(() => {
    if (!user || user.username === author) return;
    loadCurrencies().then(setCurrencies);
    pay.get('/accounts').then((d) => {
      const funded = d.data.filter((a) => a.balance > 0);
      if (funded.length) setCurrency(funded[0].currency);
    }, () => {});
    const pending = loadIntent(user.username, article.slug);
    if (pending) {
      setResume(pending);
      send(pending);
    }
  }, [user && user.username]);

  function send(intent) {
    return run(async () => {
      localStorage.setItem(intentKey(user.username, article.slug), JSON.stringify(intent));
      const body = {
        to: intent.to,
        amount: intent.amount,
        currency: intent.currency,
        description: article.title.slice(0, 200),
        reference: ('article:' + article.slug).slice(0, 255),
      };
      try {
        // 409: the same key is still executing (say, the request that was
        // in flight when the page reloaded); its outcome comes shortly.
        for (let attempt = 1; ; attempt++) {
          try {
            await pay.post('/payments', body, intent.key);
            break;
          } catch (e) {
            if (e.status !== 409 || attempt >= 5) throw e;
            await new Promise((res) => setTimeout(res, 500 * attempt));
          }
        }
      } catch (e) {
        // A failure that is final for the key (a 402, 403, 404 or 422 the
        // service stored) ends the intent; any other keeps it, to retry.
        if (!retryable(e)) localStorage.removeItem(intentKey(user.username, article.slug));
        e.currency = intent.currency;
        throw e;
      }
      localStorage.removeItem(intentKey(user.username, article.slug));
      setResume(null);
      setDone(intent);
      setAmount('');
    });
  }

  function submit(e) {
    e.preventDefault();
    setDone(null);
    setInvalid(null);
    const minor = readAmount(amount, currency, setInvalid);
    if (minor === null) return;
    const prev = loadIntent(user.username, article.slug);
    const same = prev && prev.to === author && prev.amount === minor && prev.currency === currency;
    send(same ? prev : { key: newKey(), to: author, amount: minor, currency });
  }

  if (!user) {
    return (
      <section class="tip" aria-labelledby="tip-h">
        <h2 id="tip-h">{t('tip_title')}</h2>
        <p><a href="/login">{t('tip_signin')}</a></p>
      </section>
    );
  }
  if (user.username === author) {
    return (
      <section class="tip" aria-labelledby="tip-h">
        <h2 id="tip-h">{t('tip_title')}</h2>
        <p class="muted">{t('tip_self')}</p>
      </section>
    );
  }
  return (
    <section class="tip" aria-labelledby="tip-h">
      <h2 id="tip-h">{t('tip_title')}</h2>
      <p>{t('tip_intro', { name: author })}</p>
      {resume && busy && <Notice text={t('tip_resume', { amount: fmtMoney(resume.amount, resume.currency) })} />}
      <form class="row" onSubmit={submit} noValidate>
        <label>
          <span>{t('tip_amount')}</span>
          <input id="tip-amount" name="amount" inputMode="decimal" autoComplete="off" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} required aria-invalid={invalid ? 'true' : undefined} />
        </label>
        <label>
          <span>{t('tip_currency')}</span>
          <select id="tip-currency" name="currency" value={currency} onChange={(e) => setCurrency(e.currentTarget.value)}>
            {(currencies || [currency]).map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        <button class="btn primary" type="submit" disabled={busy}>
          {busy ? t('tip_sending') : t('tip_send')}
        </button>
      </form>
      {invalid && <div class="error" role="alert">{invalid}</div>}
      <ErrorBox error={error} />
      {done && <Notice text={t('tip_done', { amount: fmtMoney(done.amount, done.currency), name: author })} />}
    </section>
  );
}

function Comments({ article }) {
  const user = useSignal(session);
  const [comments, setComments] = useState(null);
  const [body, setBody] = useState('');
  const [run, busy, error] = useAction();
  const postKey = useWriteKey('comment:' + article.slug + ':' + body);
  useEffect(() => {
    blog.get(`/articles/${enc(article.slug)}/comments`).then((d) => setComments(d.comments), () => setComments([]));
  }, [article.slug]);
  const post = (e) => {
    e.preventDefault();
    run(async () => {
      const r = await blog.post(`/articles/${enc(article.slug)}/comments`, { comment: { body } }, postKey());
      postKey.done();
      setComments((c) => [...(c || []).filter((x) => x.id !== r.comment.id), r.comment]);
      setBody('');
    });
  };
  const del = (id) =>
    run(async () => {
      await blog.del(`/articles/${enc(article.slug)}/comments/${id}`, newKey());
      setComments((c) => c.filter((x) => x.id !== id));
    });
  return (
    <section class="comments" aria-labelledby="comments-h">
      <h2 id="comments-h">{t('comments')}</h2>
      {user ? (
        <form class="comment-form" onSubmit={post}>
          <label for="comment-body">{t('comment_label')}</label>
          <textarea id="comment-body" rows={3} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
          <button class="btn primary" type="submit" disabled={busy}>{t('post_comment')}</button>
        </form>
      ) : (
        <p><a href="/login">{t('signin_to_comment')}</a></p>
      )}
      <ErrorBox error={error} />
      {!comments && <p class="muted">{t('loading')}</p>}
      <ul class="comment-list">
        {(comments || []).map((c) => (
          <li key={c.id} class="comment">
            <p class="comment-body">{c.body}</p>
            <div class="comment-foot">
              <Avatar profile={c.author} />
              <a href={`/profile/${enc(c.author.username)}`}>{c.author.username}</a>
              <time dateTime={c.createdAt}>{fmtDate(c.createdAt, true)}</time>
              {user && user.username === c.author.username && (
                <button type="button" class="btn small danger" disabled={busy} onClick={() => del(c.id)}>{t('delete_comment')}</button>
              )}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ArticlePage({ slug }) {
  const [article, setArticle] = useState(null);
  const [error, setError] = useState(null);
  useTitle(article ? article.title : null);
  useEffect(() => {
    blog.get(`/articles/${enc(slug)}`).then((d) => setArticle(d.article), setError);
  }, [slug]);
  if (error) return <LoadFailed error={error} notFound={t('article_not_found')} />;
  if (!article) return <div class="wrap page"><p class="muted">{t('loading')}</p></div>;
  return (
    <article class="article">
      <header class="article-banner">
        <div class="wrap">
          <h1 class="article-title">{article.title}</h1>
          <ArticleActions article={article} setArticle={setArticle} />
        </div>
      </header>
      <div class="wrap page">
        <p class="lead">{article.description}</p>
        <Markdown source={article.body} />
        {article.tagList.length > 0 && (
          <ul class="tags" aria-label={t('tags')}>
            {article.tagList.map((tag) => (
              <li key={tag}><a class="tag" href={`/?tag=${enc(tag)}`}>{tag}</a></li>
            ))}
          </ul>
        )}
        <TipBox article={article} />
        <Comments article={article} />
      </div>
    </article>
  );
}
