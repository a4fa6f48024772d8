import { useEffect, useState } from 'preact/hooks';
import { blog, newKey, session, setUser } from '../api.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { useSignal } from '../state.js';
import { ErrorBox, Notice, useAction, useTitle } from '../ui.jsx';
import { SignInNeeded } from './editor.jsx';

export function SettingsPage() {
  const user = useSignal(session);
  const [form, setForm] = useState(null);
  const [saved, setSaved] = useState(false);
  const [run, busy, error, setError] = useAction();
  useTitle(t('settings_title'));
  useEffect(() => {
    if (!user) return;
    blog.get('/user').then((d) => {
      const u = d.user;
      setForm({ image: u.image || '', username: u.username, bio: u.bio || '', email: u.email, password: '' });
    }, setError);
  }, []);
  if (!user) return <SignInNeeded />;
  const set = (k) => (e) => {
    setSaved(false);
    setForm({ ...form, [k]: e.currentTarget.value });
  };
  const submit = (e) => {
    e.preventDefault();
    run(async () => {
      const body = { image: form.image, username: form.username, bio: form.bio, email: form.email };
      if (form.password) body.password = form.password;
      const r = await blog.put('/user', { user: body }, newKey());
      setUser(r.user);
      setForm({ ...form, password: '' });
      setSaved(true);
    });
  };
  const logout = () => {
    setUser(null);
    navigate('/');
  };
  // Every token of this user, on every device, stops working (the blog
  // bumps the identity version; pay refuses the old tokens too).
  const logoutAll = () =>
    run(async () => {
      await blog.post('/user/logout-all', undefined);
      setUser(null);
      navigate('/');
    });
  return (
    <div class="wrap page narrow">
      <h1>{t('settings_title')}</h1>
      <ErrorBox error={error} />
      {form && (
        <form class="stack" onSubmit={submit} noValidate>
          <label><span>{t('f_image')}</span><input id="image" name="image" type="url" value={form.image} onInput={set('image')} /></label>
          <label><span>{t('f_username')}</span><input id="username" name="username" autoComplete="username" value={form.username} onInput={set('username')} /></label>
          <label><span>{t('f_bio')}</span><textarea id="bio" name="bio" rows={6} value={form.bio} onInput={set('bio')} /></label>
          <label><span>{t('f_email')}</span><input id="email" name="email" type="email" autoComplete="email" value={form.email} onInput={set('email')} /></label>
          <label><span>{t('f_new_password')}</span><input id="password" name="password" type="password" autoComplete="new-password" value={form.password} onInput={set('password')} /></label>
          <button class="btn primary big" type="submit" disabled={busy}>{t('update_settings')}</button>
          {saved && <Notice text={t('saved')} />}
        </form>
      )}
      <hr />
      <div class="row">
        <button type="button" class="btn danger" id="logout" onClick={logout}>{t('logout')}</button>
        <button type="button" class="btn danger" id="logout-all" disabled={busy} onClick={logoutAll}>{t('logout_all')}</button>
      </div>
    </div>
  );
}
