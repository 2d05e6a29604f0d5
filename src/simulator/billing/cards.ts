/** Stripe's test card numbers that change what happens; any other valid number pays. */
export const DECLINED_CARD = '4000000000000002';
/** Attaches fine and pays now, but every later off-session charge fails. */
export const FAILS_LATER_CARD = '4000000000000341';
export const DEFAULT_CARD = '4242424242424242';

export function normalizeCard(input: string): string {
  return input.replace(/[\s-]/g, '');
}

/** Why the card cannot pay now, or `undefined` when it can. */
export function cardProblem(card: string): string | undefined {
  if (!/^\d{12,19}$/.test(card) || !passesLuhn(card)) return 'Your card number is incorrect.';
  if (card === DECLINED_CARD) return 'Your card was declined.';
  return undefined;
}

/** Whether a renewal charged to the saved card goes through. */
export function canChargeLater(card: string | undefined): boolean {
  return card !== undefined && card !== FAILS_LATER_CARD && cardProblem(card) === undefined;
}

function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}
