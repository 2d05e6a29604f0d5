/**
 * Whether a write failed because a row with the same unique key exists (another request, or another
 * process, wrote it first): PostgreSQL's unique_violation through pg (23505, with the constraint it
 * names), or Prisma's P2002. `constraint`, when given, must be the one violated (pg only: Prisma's
 * error names fields instead).
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const { code, constraint: violated } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; constraint?: unknown };
  if (code === 'P2002') return constraint === undefined;
  return code === '23505' && (constraint === undefined || violated === constraint);
}
