declare module 'pg/lib/utils.js' {
  /** The text node-postgres sends for a parameter (arrays as array literals, dates as ISO text). */
  export function prepareValue(value: unknown): string | Buffer | null | undefined;
}
