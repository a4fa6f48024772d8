import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './style.css';
import { expired, session } from './api.js';
import { ErrorBox } from './ui.jsx';
import { LANGS, applyLang, lang, setLang, t } from './i18n.js';
import { loc, match } from './router.js';
import { useSignal } from './state.js';
import { Home } from './pages/home.jsx';
import { ArticlePage } from './pages/article.jsx';
import { ProfilePage } from './pages/profile.jsx';
import { EditorPage } from './pages/editor.jsx';
import { SettingsPage } from './pages/settings.jsx';
import { AuthPage } from './pages/auth.jsx';
import { WalletPage } from './pages/wallet.jsx';
import { PaymentsPage, PaymentPage } from './pages/payments.jsx';

function Header({ user, path }) {
  const cur = (p) => (path === p ? 'page' : undefined);
  const l = useSignal(lang);
  return (
    <header class="top">
      <div class="wrap bar">
        <a class="brand" href="/">{t('brand')}</a>
        <nav aria-label={t('nav_main')}>
          <ul class="nav">
            <li><a href="/" aria-current={cur('/')}>{t('nav_home')}</a></li>
            {user ? (
              <>
                <li><a href="/editor" aria-current={cur('/editor')}>{t('nav_new')}</a></li>
                <li><a href="/wallet" aria-current={cur('/wallet')}>{t('nav_wallet')}</a></li>
                <li><a href="/payments" aria-current={cur('/payments')}>{t('nav_payments')}</a></li>
                <li><a href="/settings" aria-current={cur('/settings')}>{t('nav_settings')}</a></li>
                <li><a class="me" href={`/profile/${encodeURIComponent(user.username)}`}>{user.username}</a></li>
              </>
            ) : (
              <>
                <li><a href="/login" aria-current={cur('/login')}>{t('nav_signin')}</a></li>
                <li><a href="/register" aria-current={cur('/register')}>{t('nav_signup')}</a></li>
              </>
            )}
          </ul>
        </nav>
        <label class="lang">
          <span class="sr-only">{t('lang_label')}</span>
          <select id="lang-switch" value={l} onChange={(e) => setLang(e.currentTarget.value)}>
            {LANGS.map(([code, name]) => (
              <option key={code} value={code} lang={code === 'zh' ? 'zh-CN' : 'en'}>{name}</option>
            ))}
          </select>
        </label>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <div class="wrap page">
      <h1>{t('not_found_page')}</h1>
      <p><a href="/">{t('back_home')}</a></p>
    </div>
  );
}

const routes = [
  ['/', () => <Home />],
  ['/login', () => <AuthPage mode="login" />],
  ['/register', () => <AuthPage mode="register" />],
  ['/settings', () => <SettingsPage />],
  ['/editor', () => <EditorPage />],
  ['/editor/:slug', (p) => <EditorPage slug={p.slug} />],
  ['/article/:slug', (p) => <ArticlePage slug={p.slug} />],
  ['/profile/:username', (p) => <ProfilePage username={p.username} tab="articles" />],
  ['/profile/:username/favorites', (p) => <ProfilePage username={p.username} tab="favorites" />],
  ['/wallet', () => <WalletPage />],
  ['/payments', () => <PaymentsPage />],
  ['/payments/:id', (p) => <PaymentPage id={p.id} />],
];

function App() {
  const where = useSignal(loc);
  const user = useSignal(session);
  const refusedHere = useSignal(expired);
  useSignal(lang);
  useEffect(applyLang, []);
  let page = null;
  for (const [pattern, view] of routes) {
    const params = match(pattern, where.path);
    if (params) {
      page = view(params);
      break;
    }
  }
  return (
    <>
      <a class="skip" href="#main">{t('skip')}</a>
      <Header user={user} path={where.path} />
      {refusedHere === where.path && !user && (
        <div class="wrap">
          <ErrorBox error={{ status: 401, api: 'blog', fields: [] }} />
        </div>
      )}
      <main id="main" tabIndex={-1} key={where.path + '?' + where.query.toString() + (user ? user.username : '')}>
        {page || <NotFound />}
      </main>
      <footer class="foot">
        <div class="wrap">
          <a class="brand" href="/">{t('brand')}</a> <span>{t('tagline')}</span>
        </div>
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app'));
