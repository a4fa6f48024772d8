import { useEffect, useState } from 'preact/hooks';
import { enc, pay, qs, session } from '../api.js';
import { fmtDate, fmtMoney, locale, readAmount, t } from '../i18n.js';
import { DEFAULT_CURRENCIES, loadCurrencies } from '../currencies.js';
import { loc, navigate } from '../router.js';
import { useSignal } from '../state.js';
import { CursorNav, ErrorBox, ListTable, Notice, useAction, useTitle } from '../ui.jsx';
import { usePayIntent } from '../writekey.js';
import { SignInNeeded } from './editor.jsx';

const ENTRIES = 10;

function TopUp({ currencies, onDone }) {
  const [currency, setCurrency] = useState(locale() === 'zh-CN' ? 'CNY' : 'USD');
  const [amount, setAmount] = useState('');
  const [invalid, setInvalid] = useState(null);
  const [done, setDone] = useState(null);
  const [run, busy, error] = useAction();
  const [takeIntent, sendIntent] = usePayIntent();
  const submit = (e) => {
    e.preventDefault();
    setInvalid(null);
    setDone(null);
    const minor = readAmount(amount, currency, setInvalid);
    if (minor === null) return;
    const it = takeIntent({ amount: minor, currency });
    run(async () => {
      await sendIntent(it, (key) => pay.post('/deposits', { currency, amount: minor }, key));
      setAmount('');
      setDone(it);
      onDone(currency);
    });
  };
  return (
    <section class="card" aria-labelledby="topup-h">
      <h2 id="topup-h">{t('topup_title')}</h2>
      <p class="muted">{t('topup_intro')}</p>
      <form class="row" onSubmit={submit} noValidate>
        <label>
          <span>{t('tip_amount')}</span>
          <input id="topup-amount" inputMode="decimal" autoComplete="off" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} aria-invalid={invalid ? 'true' : undefined} />
        </label>
        <label>
          <span>{t('currency')}</span>
          <select id="topup-currency" value={currency} onChange={(e) => setCurrency(e.currentTarget.value)}>
            {currencies.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
        <button class="btn primary" type="submit" disabled={busy}>{t('topup')}</button>
      </form>
      {invalid && <div class="error" role="alert">{invalid}</div>}
      <ErrorBox error={error} />
      {done && <Notice text={t('topup_done', { amount: fmtMoney(done.amount, done.currency) })} />}
    </section>
  );
}

function Statement({ account }) {
  const where = useSignal(loc);
  const after = where.query.get('after') || '';
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setData(null);
    pay.get(`/accounts/${enc(account.id)}/entries` + qs({ limit: ENTRIES, starting_after: after })).then(setData, setError);
  }, [account.id, account.balance, after]);
  const kind = (k) => t('kind_' + k);
  return (
    <section class="card" aria-labelledby="stmt-h" aria-busy={data || error ? 'false' : 'true'}>
      <h2 id="stmt-h">{t('statement_of', { cur: account.currency })}</h2>
      <ErrorBox error={error} />
      <ListTable
        data={data}
        error={error}
        empty={t('no_entries')}
        cls="statement"
        cols={[[t('col_date')], [t('col_kind')], [t('col_counterparty')], [t('col_amount'), 'num'], [t('col_balance'), 'num']]}
        row={(e) => (
          <tr key={e.id} data-kind={e.kind}>
            <td><time dateTime={e.created_at}>{fmtDate(e.created_at, 'short')}</time></td>
            <td>{e.payment_id ? <a href={`/payments/${enc(e.payment_id)}`}>{kind(e.kind)}</a> : kind(e.kind)}</td>
            <td class="wrap-any">{e.kind === 'deposit' && e.counterparty === 'system' ? t('sandbox_funds') : e.counterparty}</td>
            <td class={e.amount < 0 ? 'num neg' : 'num pos'}>{fmtMoney(e.amount, account.currency, true)}</td>
            <td class="num">{fmtMoney(e.balance_after, account.currency)}</td>
          </tr>
        )}
      />
      <CursorNav data={data} after={after} href={(a) => '/wallet' + qs({ account: account.id, after: a })} />
    </section>
  );
}

export function WalletPage() {
  const user = useSignal(session);
  const where = useSignal(loc);
  const [accounts, setAccounts] = useState(null);
  const [currencies, setCurrencies] = useState(DEFAULT_CURRENCIES);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useTitle(t('wallet_title'));
  useEffect(() => {
    if (!user) return;
    loadCurrencies().then(setCurrencies);
  }, []);
  useEffect(() => {
    if (!user) return;
    pay.get('/accounts?limit=100').then((d) => setAccounts(d.data), setError);
  }, [tick]);
  if (!user) return <SignInNeeded />;
  const chosen = where.query.get('account');
  const account = accounts && (accounts.find((a) => a.id === chosen) || accounts[0]);
  const onTopUp = (cur) => {
    setTick(tick + 1);
    const a = accounts && accounts.find((x) => x.currency === cur);
    if (!a || (account && a.id !== account.id)) navigate('/wallet' + (a ? qs({ account: a.id }) : ''), true);
  };
  return (
    <div class="wrap page">
      <h1>{t('wallet_title')}</h1>
      <p class="muted">{t('wallet_intro')}</p>
      <ErrorBox error={error} />
      <section aria-labelledby="acc-h" aria-busy={accounts || error ? 'false' : 'true'}>
        <h2 id="acc-h">{t('accounts')}</h2>
        {!accounts && !error && <p class="muted">{t('loading')}</p>}
        {accounts && accounts.length === 0 && <p class="muted">{t('no_accounts')}</p>}
        {accounts && accounts.length > 0 && (
          <ul class="accounts">
            {accounts.map((a) => (
              <li key={a.id}>
                <a class="account" href={'/wallet' + qs({ account: a.id })} aria-current={account && a.id === account.id ? 'true' : undefined} data-currency={a.currency}>
                  <span class="cur">{a.currency}</span>
                  <span class="bal" data-minor={a.balance}>{fmtMoney(a.balance, a.currency)}</span>
                  <span class="muted small">{t('opened')} {fmtDate(a.created_at)}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </section>
      <div class="grid2">
        {account && <Statement account={account} />}
        <TopUp currencies={currencies} onDone={onTopUp} />
      </div>
    </div>
  );
}
