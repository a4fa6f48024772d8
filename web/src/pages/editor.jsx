import { useEffect, useState } from 'preact/hooks';
import { blog, enc, session } from '../api.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { useSignal } from '../state.js';
import { ErrorBox, useAction, useTitle } from '../ui.jsx';
import { useWriteKey } from '../writekey.js';

export function SignInNeeded() {
  return (
    <div class="wrap page narrow">
      <p>{t('signin_needed')}</p>
      <p><a class="btn primary" href="/login">{t('nav_signin')}</a></p>
    </div>
  );
}

export function EditorPage({ slug }) {
  const user = useSignal(session);
  const [form, setForm] = useState({ title: '', description: '', body: '' });
  const [tags, setTags] = useState([]);
  const [tagInput, setTagInput] = useState('');
  const [loaded, setLoaded] = useState(!slug);
  const [run, busy, error, setError] = useAction();
  const writeKey = useWriteKey(JSON.stringify([slug || '', form, tags]));
  useTitle(slug ? t('editor_edit') : t('editor_new'));
  useEffect(() => {
    if (!slug) return;
    blog.get(`/articles/${enc(slug)}`).then((d) => {
      const a = d.article;
      setForm({ title: a.title, description: a.description, body: a.body });
      setTags(a.tagList);
      setLoaded(true);
    }, (e) => {
      setError(e);
      setLoaded(true);
    });
  }, [slug]);
  if (!user) return <SignInNeeded />;
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const addTags = (text) => {
    const add = text.split(/[,，]/).map((x) => x.trim()).filter((x) => x && !tags.includes(x));
    if (add.length) setTags([...tags, ...add]);
  };
  const onTagKey = (e) => {
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault();
      addTags(tagInput);
      setTagInput('');
    }
  };
  const submit = (e) => {
    e.preventDefault();
    const all = tagInput.trim() ? [...tags, ...tagInput.split(/[,，]/).map((x) => x.trim()).filter((x) => x && !tags.includes(x))] : tags;
    run(async () => {
      const article = { ...form, tagList: all };
      const r = slug
        ? await blog.put(`/articles/${enc(slug)}`, { article }, writeKey())
        : await blog.post('/articles', { article }, writeKey());
      writeKey.done();
      navigate(`/article/${enc(r.article.slug)}`);
    });
  };
  return (
    <div class="wrap page narrow">
      <h1>{slug ? t('editor_edit') : t('editor_new')}</h1>
      <ErrorBox error={error} />
      {loaded && (
        <form class="stack" onSubmit={submit} noValidate>
          <label>
            <span>{t('f_title')}</span>
            <input id="title" name="title" value={form.title} onInput={set('title')} />
          </label>
          <label>
            <span>{t('f_description')}</span>
            <input id="description" name="description" value={form.description} onInput={set('description')} />
          </label>
          <label>
            <span>{t('f_body')}</span>
            <textarea id="body" name="body" rows={10} value={form.body} onInput={set('body')} />
          </label>
          <label>
            <span>{t('f_tags')}</span>
            <input id="tags" name="tags" value={tagInput} onInput={(e) => setTagInput(e.currentTarget.value)} onKeyDown={onTagKey} />
          </label>
          {tags.length > 0 && (
            <ul class="tags" aria-label={t('tags')}>
              {tags.map((tag) => (
                <li key={tag}>
                  <span class="tag">{tag}</span>
                  <button type="button" class="x" aria-label={t('remove_tag', { tag })} onClick={() => setTags(tags.filter((x) => x !== tag))}>×</button>
                </li>
              ))}
            </ul>
          )}
          <button class="btn primary big" type="submit" disabled={busy}>{t('publish')}</button>
        </form>
      )}
    </div>
  );
}
