// The currencies the pay service supports, with their exponents (digits of
// the minor unit), loaded once per page view. Until they arrive, or if the
// service cannot say, a short default list is offered.
import { pay } from './api.js';
import { setExponents } from './i18n.js';

export const DEFAULT_CURRENCIES = ['USD', 'EUR', 'CNY', 'JPY'];
let loading = null;

export function loadCurrencies() {
  if (!loading) {
    loading = pay.get('/currencies?limit=100').then((d) => {
      setExponents(d.data);
      return d.data.map((c) => c.code);
    }, () => {
      loading = null;
      return DEFAULT_CURRENCIES;
    });
  }
  return loading;
}
