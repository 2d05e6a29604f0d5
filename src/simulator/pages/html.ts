/** A string that is already HTML and must not be escaped again. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | null | undefined | Html[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Tagged template that escapes every interpolated value unless it is `Html`. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0] ?? '';
  parts.forEach((part, i) => {
    out += render(part) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function render(part: Part): string {
  if (part === null || part === undefined) return '';
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof Html) return part.value;
  return escapeHtml(String(part));
}

export function formatMoney(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency.toUpperCase() });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

const style = `
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f6f8fa;color:#1a1f36;margin:0}
main{max-width:560px;margin:40px auto;background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:24px 32px}
h1{font-size:1.3rem;margin-top:0}h2{font-size:1.05rem;margin-top:1.6rem}
table{width:100%;border-collapse:collapse}td,th{padding:6px 4px;border-bottom:1px solid #eef0f3;text-align:left}
td.num,th.num{text-align:right}
label{display:block;margin:16px 0 4px;font-weight:600}
input,select{font-size:1rem;padding:8px;border:1px solid #c9d0d8;border-radius:4px;width:100%;box-sizing:border-box}
button{font-size:1rem;padding:10px 16px;border:0;border-radius:4px;background:#635bff;color:#fff;cursor:pointer;margin-top:12px}
button.secondary{background:#e3e8ee;color:#1a1f36}
#message{padding:10px;border-radius:4px;background:#fff4e5;border:1px solid #f5c27a}
.muted{color:#6a7383;font-size:.9rem}.sim{font-size:.8rem;color:#6a7383;text-align:center}
`;

export function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${new Html(style)}</style></head>
<body><main>${body}</main><p class="sim">Stripe simulator — test mode, no real money moves.</p></body></html>`.value;
}
