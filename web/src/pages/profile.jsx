import { useEffect, useState } from 'preact/hooks';
import { blog, enc, qs, session } from '../api.js';
import { t } from '../i18n.js';
import { loc } from '../router.js';
import { useSignal } from '../state.js';
import { Avatar, FollowButton, LoadFailed, useTitle } from '../ui.jsx';
import { ArticleList } from './home.jsx';

export function ProfilePage({ username, tab }) {
  const user = useSignal(session);
  const where = useSignal(loc);
  const [profile, setProfile] = useState(null);
  const [error, setError] = useState(null);
  useTitle(username);
  useEffect(() => {
    blog.get(`/profiles/${enc(username)}`).then((d) => setProfile(d.profile), setError);
  }, [username]);
  const page = Math.max(1, parseInt(where.query.get('page') || '1', 10) || 1);
  const me = user && user.username === username;
  const base = `/profile/${enc(username)}`;
  if (error) return <LoadFailed error={error} notFound={t('profile_not_found')} />;
  return (
    <>
      <section class="user-info">
        <div class="wrap">
          {profile && <Avatar profile={profile} size="lg" />}
          <h1 class="username">{username}</h1>
          {profile && profile.bio && <p class="bio">{profile.bio}</p>}
          {profile && me && <a class="btn" href="/settings">{t('edit_settings')}</a>}
          {profile && !me && <FollowButton profile={profile} onChange={setProfile} />}
        </div>
      </section>
      <div class="wrap page">
        <nav class="tabs" aria-label={t('profile_tabs')}>
          <ul>
            <li><a href={base} aria-current={tab === 'articles' ? 'page' : undefined}>{me ? t('profile_articles') : t('profile_articles_of')}</a></li>
            <li><a href={base + '/favorites'} aria-current={tab === 'favorites' ? 'page' : undefined}>{t('profile_favorites')}</a></li>
          </ul>
        </nav>
        <ArticleList
          path="/articles"
          params={tab === 'favorites' ? { favorited: username } : { author: username }}
          page={page}
          pageHref={(n) => (tab === 'favorites' ? base + '/favorites' : base) + qs({ page: n > 1 ? n : '' })}
        />
      </div>
    </>
  );
}
