// The site in Simplified Chinese and English: the dictionaries match, the
// language follows Accept-Language and a remembered switch, dates and money
// are formatted for the locale (CNY in minor units), Unicode usernames and
// slugs work in percent-encoded URLs, and long CJK titles keep the layout.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { en, zh } from '../src/strings.js';
import {
  DESKTOP, MOBILE, RUN, api, assertNoOverflow, entries, finish, fresh, launch, register, shoot,
  signInAs, sitePages, topUp, tour,
  ftest,
} from './helpers.mjs';

let browser;
const S = {};
before(async () => {
  browser = await launch();
});
after(async () => {
  if (browser) await browser.close();
});

const digits = () => String(Date.now() % 1e8) + String(Math.floor(Math.random() * 90 + 10));

describe('dictionaries', () => {
  ftest('English and Chinese have the same keys, and no string is left untranslated', () => {
    assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
    // Strings that are the same in both languages on purpose.
    const same = new Set(['brand', 'feed_tag', 'e_field']);
    for (const [k, v] of Object.entries(zh)) {
      assert.ok(typeof v === 'string' && v.length > 0, k);
      if (!same.has(k)) assert.match(v, /[\u4e00-\u9fff]/, `zh.${k} has no Chinese: ${v}`);
      const vars = (s) => (s.match(/\{\w+\}/g) || []).sort();
      assert.deepEqual(vars(v), vars(en[k]), `placeholders of ${k}`);
    }
  });
});

describe('Simplified Chinese', () => {
  ftest('Accept-Language chooses Chinese; the switch changes it and is remembered', async () => {
    const { ctx, page } = await fresh(browser, { locale: 'zh-CN' });
    let sent = null;
    page.on('request', (r) => {
      if (r.isNavigationRequest()) sent = r.headers()['accept-language'];
    });
    await page.goto('/');
    assert.match(sent, /^zh-CN/);
    await page.getByRole('link', { name: '全站文章' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('link', { name: 'Global feed' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.reload();
    await page.getByRole('link', { name: 'Global feed' }).waitFor();
    await page.getByLabel('Language').selectOption('zh');
    await page.getByRole('link', { name: '全站文章' }).waitFor();
    // An English browser gets English.
    const other = await fresh(browser, { locale: 'en-GB' });
    await other.page.goto('/');
    await other.page.getByRole('link', { name: 'Global feed' }).waitFor();
    await finish(ctx, other.ctx);
  });

  ftest('a Chinese username signs up, writes a long CJK title, and its URLs are percent-encoded', async () => {
    const { ctx, page } = await fresh(browser, { locale: 'zh-CN' });
    S.author = { username: '作者' + digits(), password: '长长的密码一二三四' };
    S.author.email = `zh${RUN}@example.test`;
    await page.goto('/register');
    await page.getByLabel('用户名').fill(S.author.username);
    await page.getByLabel('电子邮箱').fill(S.author.email);
    await page.getByLabel('密码').fill(S.author.password);
    await page.getByRole('button', { name: '注册' }).click();
    await page.getByRole('link', { name: S.author.username }).waitFor();
    S.author.token = await page.evaluate(() => localStorage.getItem('conduit.token'));
    assert.equal(await page.getByRole('link', { name: S.author.username }).getAttribute('href'),
      '/profile/' + encodeURIComponent(S.author.username));
    S.title = '高可用性和低延迟的Web应用程序：在两个核心上把每一毫秒都用在刀刃上的实践记录与经验总结' + RUN;
    await page.goto('/editor');
    await page.getByLabel('文章标题').fill(S.title);
    await page.getByLabel('这篇文章讲什么？').fill('关于延迟的一些笔记');
    await page.getByLabel('正文（Markdown 格式）').fill('## 第一步\n\n**耐心**是关键。');
    await page.getByLabel('输入标签（回车或逗号分隔）').fill('云计算');
    await page.getByRole('button', { name: '发布文章' }).click();
    await page.locator('h1.article-title').waitFor();
    const path = new URL(page.url()).pathname;
    const slug = decodeURIComponent(path.split('/')[2]);
    assert.equal(path, '/article/' + encodeURIComponent(slug), 'the slug is percent-encoded in the URL');
    S.slug = slug;
    await page.locator('.markdown strong', { hasText: '耐心' }).waitFor();
    await page.locator('.page .tags .tag', { hasText: '云计算' }).waitFor();
    assert.match(await page.locator('.author-card time').textContent(), /^\d{4}年\d{1,2}月\d{1,2}日$/);
    await page.setViewportSize(MOBILE);
    await assertNoOverflow(page, 'long CJK title, article, 375 px');
    await shoot(page, 'article-long-title', 'zh');
    await page.goto('/');
    await page.locator('.preview h2', { hasText: S.title }).waitFor();
    await assertNoOverflow(page, 'long CJK title, home, 375 px');
    await shoot(page, 'home-long-title', 'zh');
    // The tag filter and the author's profile, by their Unicode names.
    await page.goto('/?tag=' + encodeURIComponent('云计算'));
    await page.locator('.preview h2', { hasText: S.title }).waitFor();
    await page.locator('.preview a.author').first().click();
    await page.locator('h1.username', { hasText: S.author.username }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/profile/' + encodeURIComponent(S.author.username));
    await finish(ctx);
  });

  ftest('money in CNY: top up, tip the Chinese author, statements in yuan', async () => {
    S.reader = await register('读者' + digits());
    const { ctx, page } = await fresh(browser, { locale: 'zh-CN' });
    await signInAs(page, S.reader);
    await page.goto('/wallet');
    await page.getByText('还没有账户：充值后自动开户。').waitFor();
    await topUp(page, { amount: '88.88', currency: 'CNY', button: '充值', done: '已充值 ¥88.88。', balance: '¥88.88' });
    assert.equal(await page.locator('.account[data-currency="CNY"] .bal').getAttribute('data-minor'), '8888');
    // The author needs a CNY account to be paid in CNY.
    const open = await api('POST', '/pay/v1/deposits', { token: S.author.token, key: 'zh-open-' + RUN, body: { currency: 'CNY', amount: 1 } });
    assert.equal(open.status, 201, JSON.stringify(open.json));
    await page.goto('/article/' + encodeURIComponent(S.slug));
    await page.locator('#tip-currency').selectOption('CNY');
    // More decimals than the yuan has is refused before anything is sent.
    await page.locator('#tip-amount').fill('1.234');
    await page.getByRole('button', { name: '打赏' }).click();
    await page.getByRole('alert').filter({ hasText: '最多 2 位小数' }).waitFor();
    await page.locator('#tip-amount').fill('6.66');
    await page.getByRole('button', { name: '打赏' }).dblclick();
    await page.getByRole('status').filter({ hasText: `谢谢！你已向 ${S.author.username} 打赏 ¥6.66。` }).waitFor();
    await shoot(page, 'tip', 'zh');
    // 402 in words, in Chinese.
    await page.locator('#tip-amount').fill('1000');
    await page.getByRole('button', { name: '打赏' }).click();
    await page.getByRole('alert').filter({ hasText: '你的 CNY 账户余额不足。请先为钱包充值。' }).waitFor();
    const r = await entries(S.reader, 'CNY');
    const a = await entries(S.author, 'CNY');
    assert.deepEqual(r.entries.filter((e) => e.kind === 'payment').map((e) => e.amount), [-666]);
    assert.deepEqual(a.entries.filter((e) => e.kind === 'payment').map((e) => e.amount), [666]);
    assert.equal(r.balance, 8888 - 666);
    await page.goto('/wallet');
    await page.locator('.statement tr[data-kind="payment"] td.num', { hasText: '-¥6.66' }).waitFor();
    await page.locator('.account[data-currency="CNY"] .bal', { hasText: '¥82.22' }).waitFor();
    await finish(ctx);
  });

  ftest('errors in Chinese', async () => {
    const { ctx, page } = await fresh(browser, { locale: 'zh-CN' });
    await page.goto('/login');
    await page.getByLabel('电子邮箱').fill(S.author.email);
    await page.getByLabel('密码').fill('错误的密码');
    await page.getByRole('button', { name: '登录' }).last().click();
    await page.getByRole('alert').filter({ hasText: '邮箱和密码不匹配任何账号。' }).waitFor();
    await page.goto('/register');
    await page.getByLabel('用户名').fill(S.author.username);
    await page.getByLabel('电子邮箱').fill(`zh2${RUN}@example.test`);
    await page.getByLabel('密码').fill('长长的密码一二三四');
    await page.getByRole('button', { name: '注册' }).last().click();
    await page.getByRole('alert').filter({ hasText: '该用户名已被占用，请换一个。' }).waitFor();
    await page.goto('/article/不存在的文章-' + RUN);
    await page.getByRole('heading', { name: '这篇文章不存在（或已被删除）。' }).waitFor();
    // A 422 with a limit in it keeps the number.
    await signInAs(page, S.reader);
    await page.goto('/settings');
    await page.getByLabel('新密码（留空则不修改）').fill('short');
    await page.getByRole('button', { name: '保存设置' }).click();
    await page.getByRole('alert').filter({ hasText: '密码太短（至少 8 个字符）' }).waitFor();
    await finish(ctx);
  });

  for (const [vpName, vp] of [['desktop', DESKTOP], ['mobile', MOBILE]]) {
    ftest(`every page in Chinese, ${vpName}: axe-core, no sideways scroll, screenshots`, async () => {
      const { ctx, page } = await fresh(browser, { locale: 'zh-CN', viewport: vp });
      await signInAs(page, S.reader);
      await tour(page, sitePages(S.slug, S.author.username), {
        label: `zh, ${vpName}`,
        lang: 'zh',
        check: async (p) => assert.equal(await p.evaluate(() => document.documentElement.lang), 'zh-CN'),
      });
      await finish(ctx);
    });
  }
});
