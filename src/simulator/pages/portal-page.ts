import type { Invoice, Price, Subscription } from '../stripe-objects.js';
import { formatDate, formatMoney, html, layout, type Html } from './html.js';

export interface PortalView {
  sessionId: string;
  customerEmail: string | null;
  returnUrl: string | null;
  subscriptions: Subscription[];
  invoices: Invoice[];
  plans: Price[];
  productName: (productId: string) => string;
  message?: string | undefined;
}

/** The customer portal: subscriptions with cancel and plan change, invoices, card replacement. */
export function renderPortalPage(view: PortalView): string {
  const live = view.subscriptions.filter((subscription) => subscription.status !== 'canceled');
  const planName = (price: Price) =>
    `${view.productName(price.product)}${price.nickname ? ` (${price.nickname})` : ''} — ${formatMoney(price.unit_amount, price.currency)} / ${price.recurring?.interval ?? 'once'}`;
  const subscriptions = view.subscriptions.map((subscription) => {
    const suffix = subscription === live[0] ? '' : `-${subscription.id}`;
    const item = subscription.items.data[0];
    const periodEnd = item ? formatDate(item.current_period_end) : '—';
    return html`<section class="subscription" data-subscription="${subscription.id}">
      <h2>${item ? planName(item.price) : subscription.id}</h2>
      <p>Status: <strong class="status">${subscription.status}</strong> ·
        ${subscription.cancel_at_period_end ? html`<span class="cancels">Cancels on ${periodEnd}</span>` : html`Renews on ${periodEnd}`}</p>
      ${subscription.status === 'canceled' ? '' : subscriptionForms(view, subscription, suffix, planName)}
    </section>`;
  });
  const invoices = view.invoices.map(
    (invoice) => html`<tr><td>${formatDate(invoice.created)}</td><td>${invoice.number}</td>
      <td class="num">${formatMoney(invoice.amount_due, invoice.currency)}</td><td class="invoice-status">${invoice.status}</td></tr>`,
  );
  return layout('Billing portal', html`
    <h1>Billing</h1>
    ${view.customerEmail ? html`<p class="muted">${view.customerEmail}</p>` : ''}
    ${view.message ? html`<p id="message" role="status">${view.message}</p>` : ''}
    ${subscriptions.length > 0 ? subscriptions : html`<p>No subscriptions.</p>`}
    <h2>Payment method</h2>
    <form method="post" action="/portal/${view.sessionId}/update-card">
      <label for="card">New card number</label><input id="card" name="card" inputmode="numeric" value="4242 4242 4242 4242">
      <button id="update-card" type="submit">Update card</button>
    </form>
    <h2>Invoices</h2>
    <table><thead><tr><th>Date</th><th>Number</th><th class="num">Amount</th><th>Status</th></tr></thead><tbody>${invoices}</tbody></table>
    ${view.returnUrl ? html`<p><a id="return" href="${view.returnUrl}">Return</a></p>` : ''}`);
}

function subscriptionForms(view: PortalView, subscription: Subscription, suffix: string, planName: (price: Price) => string): Html {
  const current = subscription.items.data[0]?.price.id;
  const options = view.plans
    .filter((price) => price.id !== current && price.currency === subscription.currency)
    .map((price) => html`<option value="${price.id}">${planName(price)}</option>`);
  const action = (name: string) => `/portal/${view.sessionId}/${name}`;
  return html`
    ${subscription.cancel_at_period_end
      ? html`<form method="post" action="${action('resume-subscription')}"><input type="hidden" name="subscription" value="${subscription.id}">
          <button id="resume-subscription${suffix}" type="submit">Don't cancel</button></form>`
      : html`<form method="post" action="${action('cancel-subscription')}"><input type="hidden" name="subscription" value="${subscription.id}">
          <button id="cancel-subscription${suffix}" class="secondary" type="submit">Cancel at period end</button></form>`}
    ${options.length > 0
      ? html`<form method="post" action="${action('change-plan')}"><input type="hidden" name="subscription" value="${subscription.id}">
          <label for="plan${suffix}">Change plan</label><select id="plan${suffix}" name="price">${options}</select>
          <button id="change-plan${suffix}" type="submit">Change plan</button></form>`
      : ''}`;
}
