import { useEffect, useState } from 'preact/hooks';
import { enc, pay, qs, session } from '../api.js';
import { fmtDate, fmtMoney, readAmount, t } from '../i18n.js';
import { loadCurrencies } from '../currencies.js';
import { loc } from '../router.js';
import { useSignal } from '../state.js';
import { CursorNav, ErrorBox, ListTable, Notice, useAction, useTitle } from '../ui.jsx';
import { usePayIntent } from '../writekey.js';
import { SignInNeeded } from './editor.jsx';

const PAGE = 10;

function loadExponents() {
  loadCurrencies();
}

function Party({ name }) {
  const user = session.get();
  if (user && name === user.username) return <span>{t('you')}</span>;
  return <a href={`/profile/${enc(name)}`}>{name}</a>;
}

export function PaymentsPage() {
  const user = useSignal(session);
  const where = useSignal(loc);
  const dir = ['sent', 'received'].includes(where.query.get('direction')) ? where.query.get('direction') : 'all';
  const after = where.query.get('after') || '';
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useTitle(t('payments_title'));
  useEffect(() => {
    if (!user) return;
    loadExponents();
    pay.get('/payments' + qs({ direction: dir, limit: PAGE, starting_after: after })).then(setData, setError);
  }, [dir, after]);
  if (!user) return <SignInNeeded />;
  const tab = (d, label) => (
    <li><a href={'/payments' + qs({ direction: d === 'all' ? '' : d })} aria-current={dir === d ? 'page' : undefined}>{label}</a></li>
  );
  return (
    <div class="wrap page">
      <h1>{t('payments_title')}</h1>
      <nav class="tabs" aria-label={t('payments_title')}>
        <ul>
          {tab('all', t('dir_all'))}
          {tab('sent', t('dir_sent'))}
          {tab('received', t('dir_received'))}
        </ul>
      </nav>
      <ErrorBox error={error} />
      <div aria-busy={data || error ? 'false' : 'true'}>
        <ListTable
          data={data}
          error={error}
          empty={t('no_payments')}
          cls="payments"
          cols={[[t('col_date')], [t('col_from')], [t('col_to')], [t('col_reference')], [t('col_amount'), 'num'], [t('col_status')]]}
          row={(p) => (
            <tr key={p.id} data-id={p.id}>
              <td><a class="pay-link" href={`/payments/${enc(p.id)}`}><time dateTime={p.created_at}>{fmtDate(p.created_at, 'short')}</time></a></td>
              <td class="wrap-any"><Party name={p.from} /></td>
              <td class="wrap-any"><Party name={p.to} /></td>
              <td class="wrap-any">{p.description || p.reference}</td>
              <td class="num">{fmtMoney(p.amount, p.currency)}</td>
              <td>{t('status_' + p.status)}</td>
            </tr>
          )}
        />
      </div>
      <CursorNav data={data} after={after} href={(a) => '/payments' + qs({ direction: dir === 'all' ? '' : dir, after: a })} />
    </div>
  );
}

export function PaymentPage({ id }) {
  const user = useSignal(session);
  const [p, setP] = useState(null);
  const [refunds, setRefunds] = useState(null);
  const [error, setError] = useState(null);
  const [amount, setAmount] = useState('');
  const [invalid, setInvalid] = useState(null);
  const [done, setDone] = useState(null);
  const [tick, setTick] = useState(0);
  const [run, busy, actionError] = useAction();
  const [takeIntent, sendIntent] = usePayIntent();
  useTitle(t('payment_title'));
  useEffect(() => {
    if (!user) return;
    loadExponents();
    pay.get(`/payments/${enc(id)}`).then(setP, setError);
    pay.get(`/payments/${enc(id)}/refunds`).then((d) => setRefunds(d.data), () => setRefunds([]));
  }, [id, tick]);
  if (!user) return <SignInNeeded />;
  if (error) {
    return (
      <div class="wrap page">
        <h1>{t('payment_title')}</h1>
        <ErrorBox error={error} />
      </div>
    );
  }
  if (!p) return <div class="wrap page"><p class="muted">{t('loading')}</p></div>;
  const payee = p.to === user.username;
  const left = p.amount - p.amount_refunded;
  const refund = (e) => {
    e.preventDefault();
    setInvalid(null);
    setDone(null);
    let minor;
    if (amount.trim() !== '') {
      minor = readAmount(amount, p.currency, setInvalid);
      if (minor === null) return;
    }
    const it = takeIntent({ amount: minor });
    run(async () => {
      const r = await sendIntent(it, (key) => pay.post(`/payments/${enc(id)}/refunds`, minor === undefined ? {} : { amount: minor }, key)).catch((err) => {
        err.context = 'refund';
        throw err;
      });
      setAmount('');
      setDone(r.amount);
      setTick(tick + 1);
    });
  };
  return (
    <div class="wrap page narrow">
      <h1>{t('payment_title')}</h1>
      <dl class="facts">
        <dt>{t('col_date')}</dt><dd><time dateTime={p.created_at}>{fmtDate(p.created_at, true)}</time></dd>
        <dt>{t('col_from')}</dt><dd><Party name={p.from} /></dd>
        <dt>{t('col_to')}</dt><dd><Party name={p.to} /></dd>
        <dt>{t('col_amount')}</dt><dd id="payment-amount">{fmtMoney(p.amount, p.currency)}</dd>
        <dt>{t('refunded')}</dt><dd id="payment-refunded">{fmtMoney(p.amount_refunded, p.currency)}</dd>
        <dt>{t('col_status')}</dt><dd id="payment-status">{t('status_' + p.status)}</dd>
        {(p.description || p.reference) && (<><dt>{t('col_reference')}</dt><dd class="wrap-any">{p.description || p.reference}</dd></>)}
      </dl>
      <section aria-labelledby="refunds-h">
        <h2 id="refunds-h">{t('refunds')}</h2>
        {refunds && refunds.length === 0 && <p class="muted">{t('no_refunds')}</p>}
        {refunds && refunds.length > 0 && (
          <ul class="refund-list">
            {refunds.map((r) => (
              <li key={r.id}><time dateTime={r.created_at}>{fmtDate(r.created_at, true)}</time> — {fmtMoney(r.amount, p.currency)}</li>
            ))}
          </ul>
        )}
        {payee && left > 0 && (
          <form class="row" onSubmit={refund} noValidate>
            <label>
              <span>{t('refund_amount')}</span>
              <input id="refund-amount" inputMode="decimal" autoComplete="off" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} aria-invalid={invalid ? 'true' : undefined} />
            </label>
            <button class="btn primary" type="submit" disabled={busy}>{t('refund')}</button>
          </form>
        )}
        {invalid && <div class="error" role="alert">{invalid}</div>}
        <ErrorBox error={actionError} />
        {done && <Notice text={t('refund_done', { amount: fmtMoney(done, p.currency) })} />}
      </section>
    </div>
  );
}
