import type { CheckoutLineItem, CheckoutSession } from '../stripe-objects.js';
import { formatMoney, html, layout } from './html.js';

const closedMessages: Record<CheckoutSession['status'], string> = {
  open: '',
  complete: 'This Checkout Session has already been paid.',
  expired: 'This Checkout Session has expired.',
};

/** The hosted checkout page: items, total, a card field, Pay and Cancel. */
export function renderCheckoutPage(session: CheckoutSession, items: CheckoutLineItem[], message?: string, card?: string): string {
  const rows = items.map(
    (item) => html`<tr><td>${item.description}</td><td class="num">${item.quantity}</td>
      <td class="num">${formatMoney(item.amount_total, item.currency)}${item.price.recurring ? ` / ${item.price.recurring.interval}` : ''}</td></tr>`,
  );
  const notice = message ?? (closedMessages[session.status] || undefined);
  const form = session.status === 'open'
    ? html`<form method="post" action="/checkout/${session.id}/pay">
        <label for="card">Card number</label>
        <input id="card" name="card" inputmode="numeric" autocomplete="cc-number" value="${card ?? '4242 4242 4242 4242'}">
        <p class="muted">4242 4242 4242 4242 pays · 4000 0000 0000 0002 is declined · 4000 0000 0000 0341 pays now, fails on renewal</p>
        <button id="pay" type="submit">${session.mode === 'subscription' ? 'Subscribe' : 'Pay'} ${formatMoney(session.amount_total, session.currency)}</button>
      </form>
      ${session.cancel_url ? html`<p><a id="cancel" href="/checkout/${session.id}/cancel">Cancel and go back</a></p>` : ''}`
    : html``;
  return layout('Checkout', html`
    <h1>Checkout</h1>
    ${notice ? html`<p id="message" role="alert">${notice}</p>` : ''}
    <table><thead><tr><th>Item</th><th class="num">Qty</th><th class="num">Amount</th></tr></thead>
    <tbody>${rows}</tbody>
    <tfoot><tr><th colspan="2">Total</th><th class="num" id="total">${formatMoney(session.amount_total, session.currency)}</th></tr></tfoot></table>
    ${session.customer_email ? html`<p class="muted">Paying as ${session.customer_email}</p>` : ''}
    ${form}`);
}

export function renderMissingPage(what: string): string {
  return layout('Not found', html`<h1>Not found</h1><p id="message">${what}</p>`);
}
