// Every string the site shows, in English and Simplified Chinese. The
// language is the one the visitor chose with the switch (remembered in
// localStorage), else the first of the browser's languages (navigator.languages,
// which the browser also sends as Accept-Language) that we speak.
import { signal } from './state.js';

import { en, zh } from './strings.js';

export const dictionaries = { en, zh };
export const LANGS = [
  ['en', 'English'],
  ['zh', '简体中文'],
];
const LANG_KEY = 'conduit.lang';

function initial() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved && dictionaries[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (dictionaries[base]) return base;
  }
  return 'en';
}

export const lang = signal(initial());

export function setLang(l) {
  localStorage.setItem(LANG_KEY, l);
  lang.set(l);
  applyLang();
}

export function applyLang() {
  document.documentElement.lang = locale();
}

// The BCP 47 tag for Intl and <html lang>.
export function locale() {
  return lang.get() === 'zh' ? 'zh-CN' : 'en';
}

export function t(key, vars) {
  const d = dictionaries[lang.get()];
  let s = d[key] ?? en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// withTime: true for a date and time, 'short' for the compact form that
// tables use.
export function fmtDate(iso, withTime) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const opts = withTime === 'short'
    ? { dateStyle: 'short', timeStyle: 'short' }
    : withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'long' };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

// Currency exponents (digits of the minor unit); the pay service's list
// replaces this default once loaded.
const exponents = { USD: 2, EUR: 2, CNY: 2, JPY: 0, GBP: 2, KWD: 3 };
export function setExponents(list) {
  for (const c of list) exponents[c.code] = c.exponent;
}
export function exponent(cur) {
  if (cur in exponents) return exponents[cur];
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: cur })
      .resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

// Minor units (an integer, possibly negative) to a decimal string, exactly:
// no floating point between the ledger and the screen.
export function minorToDecimal(minor, cur) {
  const e = exponent(cur);
  let s = BigInt(minor).toString();
  const neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  if (e > 0) {
    s = s.padStart(e + 1, '0');
    s = s.slice(0, -e) + '.' + s.slice(-e);
  }
  return (neg ? '-' : '') + s;
}

export function fmtMoney(minor, cur, signed) {
  const opts = { style: 'currency', currency: cur };
  if (signed) opts.signDisplay = 'exceptZero';
  const e = exponent(cur);
  opts.minimumFractionDigits = e;
  opts.maximumFractionDigits = e;
  // Intl formats a decimal string exactly (no conversion to a double).
  return new Intl.NumberFormat(locale(), opts).format(minorToDecimal(minor, cur));
}

// "12.5" in a currency with exponent 2 -> 1250; null when it is not a
// positive amount with at most that many decimals.
export function parseAmount(text, cur) {
  const e = exponent(cur);
  const s = String(text).trim().replace(/[,\s]/g, '').replace('．', '.');
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s);
  if (!m) return null;
  const frac = m[2] || '';
  if (frac.length > e) return null;
  const v = BigInt(m[1] + frac.padEnd(e, '0'));
  if (v <= 0n || v > 9007199254740991n) return null;
  return Number(v);
}

// The minor units of a typed amount; null, after onInvalid got the message
// that says how many decimals the currency takes, when it is not one.
export function readAmount(text, cur, onInvalid) {
  const minor = parseAmount(text, cur);
  if (minor === null) onInvalid(t('amount_invalid', { d: exponent(cur) }));
  return minor;
}

// The blog's field messages the site says in Chinese; the numbers in them
// (limits) are kept. Anything else is shown as the service wrote it.
const knownMsgs = [
  [/^can't be blank$/, 'msg_blank'],
  [/^has already been taken$/, 'msg_taken'],
  [/^(is )?invalid \(mixes scripts/, 'msg_mixed_scripts'],
  [/^(is )?invalid \(no invisible/, 'msg_invisible'],
  [/^(is )?invalid/, 'msg_invalid'],
  [/^is missing$/, 'msg_missing'],
  [/^not found$/, 'msg_not_found'],
  [/^(is )?forbidden$/, 'msg_forbidden'],
  [/^is too short \(minimum is (\d+)/, 'msg_short_n'],
  [/^is too long \(maximum is (\d+) tags/, 'msg_long_tags'],
  [/^is too long \(maximum is (\d+)/, 'msg_long_n'],
  [/^is too short/, 'msg_short'],
  [/^is too long/, 'msg_long'],
  [/^is reserved$/, 'msg_reserved'],
  [/^is not valid UTF-8$/, 'msg_invalid'],
  [/^is rate limited$/, 'msg_rate_limited'],
];

function fieldName(f) {
  const k = 'fld_' + f;
  return k in en ? t(k) : f;
}

function fieldMsg(m) {
  if (lang.get() === 'en') return m;
  for (const [re, k] of knownMsgs) {
    const hit = re.exec(m);
    if (hit) return t(k, { n: hit[1] });
  }
  return m;
}

// One or more sentences for an API failure, in the visitor's language.
export function errorText(err) {
  if (!err || typeof err.status !== 'number') return t('e_unknown', { status: '?' });
  const s = err.status;
  if (s === 0) return t('e_network');
  if (err.api === 'pay') {
    const c = err.code;
    if (c === 'insufficient_funds' && err.context === 'refund') return t('e_insufficient_funds_refund');
    if (c === 'insufficient_funds') return t('e_insufficient_funds', { currency: err.currency || '' });
    if (c && `e_${c}` in en) return t(`e_${c}`, { param: err.param || '' });
    if (s === 400 && err.param === 'to') return t('e_self_payment');
  } else {
    const f = err.fields;
    const idem = f.some(([k]) => k === 'Idempotency-Key');
    if (s === 409 && idem) return t('e_409_inflight');
    if (s === 422 && idem) return t('e_idempotency_key_reused');
    if (s === 401 && f.some(([k]) => k === 'credentials')) return t('e_credentials');
    if (s === 403 && f.some(([k]) => k === 'article')) return t('e_403_article');
    if (s === 403 && f.some(([k]) => k === 'comment')) return t('e_403_comment');
    if (s === 409 && f.length) return f.map(([k]) => t('e_409_taken', { field: fieldName(k) })).join(' ');
    if (s === 409) return t('e_409_inflight');
    if (s === 422 && f.length) return f.map(([k, m]) => t('e_field', { field: fieldName(k), msg: fieldMsg(m) })).join(' ');
  }
  if (s === 401) return t('e_401');
  if (s === 403) return t('e_403');
  if (s === 404) return t('e_404');
  if (s === 409) return err.api === 'pay' ? t('e_409_inflight') : t('e_409');
  if (s === 413) return t('e_413');
  if (s === 422) return t('e_422');
  if (s === 429) return t('e_429');
  if (s >= 500) return t('e_5xx');
  return t('e_unknown', { status: s });
}
