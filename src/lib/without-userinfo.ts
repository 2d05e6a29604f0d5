/**
 * A URL as a message or the banner may show it: its user and password (a proxy's login, a database's)
 * become `…`. A value that does not parse as a URL loses everything from its scheme's `//` to its last
 * `@`, which may be in the password.
 */
export function withoutUserinfo(value: string): string {
  if (!URL.canParse(value)) return value.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/i, '$1…@');
  const url = new URL(value);
  if (!url.username && !url.password) return value;
  return `${url.protocol}//…@${url.host}${url.pathname}${url.search}${url.hash}`;
}
