import { useState } from 'preact/hooks';
import { blog, setUser } from '../api.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { ErrorBox, useAction, useTitle } from '../ui.jsx';

export function AuthPage({ mode }) {
  const reg = mode === 'register';
  const [form, setForm] = useState({ username: '', email: '', password: '' });
  const [run, busy, error] = useAction();
  useTitle(reg ? t('signup_title') : t('signin_title'));
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    run(async () => {
      const r = reg
        ? await blog.post('/users', { user: form })
        : await blog.post('/users/login', { user: { email: form.email, password: form.password } });
      setUser(r.user);
      navigate('/');
    });
  };
  return (
    <div class="wrap page narrow auth">
      <h1>{reg ? t('signup_title') : t('signin_title')}</h1>
      <p>
        <a href={reg ? '/login' : '/register'}>{reg ? t('have_account') : t('need_account')}</a>
      </p>
      <ErrorBox error={error} />
      <form class="stack" onSubmit={submit} noValidate>
        {reg && (
          <label><span>{t('f_username')}</span><input id="username" name="username" autoComplete="username" value={form.username} onInput={set('username')} /></label>
        )}
        <label><span>{t('f_email')}</span><input id="email" name="email" type="email" autoComplete="email" value={form.email} onInput={set('email')} /></label>
        <label><span>{t('f_password')}</span><input id="password" name="password" type="password" autoComplete={reg ? 'new-password' : 'current-password'} value={form.password} onInput={set('password')} /></label>
        <button class="btn primary big" type="submit" disabled={busy}>{reg ? t('signup_title') : t('signin_title')}</button>
      </form>
    </div>
  );
}
