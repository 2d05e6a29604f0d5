/**
 * Stripe's presentment currencies (docs.stripe.com/currencies), lowercase as the API wants them.
 * A currency outside this list is refused before Stripe is asked.
 */
export const STRIPE_CURRENCIES: ReadonlySet<string> = new Set(
  (
    'usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp ' +
    'cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk ' +
    'jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn ' +
    'nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std ' +
    'szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xcg xof xpf yer zar zmw'
  ).split(' '),
);

/**
 * Stripe's documented minimum charge, in minor units, for the currencies it lists one for
 * (docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). For other currencies Stripe's own
 * `amount_too_small` error is the judge.
 */
export const MINIMUM_CHARGE: Readonly<Record<string, number>> = {
  usd: 50,
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
};

/**
 * Currencies that Stripe takes in minor units but charges only in whole steps of them
 * (docs.stripe.com/currencies#special-cases): ISK is two-decimal in the API yet charged in whole
 * krónur, so in multiples of 100 (Stripe's `invalid_charge_amount_no_decimal_compatible` otherwise);
 * the three-decimal currencies need their last digit 0.
 */
export const CHARGE_STEP: Readonly<Record<string, number>> = { isk: 100, bhd: 10, jod: 10, kwd: 10, omr: 10, tnd: 10 };

/** Stripe's largest amount for one charge (eight digits of minor units). */
export const MAXIMUM_CHARGE = 99_999_999;
