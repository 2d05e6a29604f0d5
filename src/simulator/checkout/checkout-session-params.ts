import { z } from 'zod';
import { bool, expand, int, list, metadata, pagination, range, str } from '../http/form-schemas.js';
import { interval } from '../resources/price-routes.js';

const productData = z.strictObject({
  name: str,
  description: str.optional(),
  images: list(str).optional(),
  metadata: metadata.optional(),
  tax_code: str.optional(),
  unit_label: str.optional(),
});

const priceData = z.strictObject({
  currency: str,
  product: str.optional(),
  product_data: productData.optional(),
  recurring: z.strictObject({ interval, interval_count: int.optional() }).optional(),
  tax_behavior: z.enum(['inclusive', 'exclusive', 'unspecified']).optional(),
  unit_amount: int.optional(),
  unit_amount_decimal: str.optional(),
});

const lineItem = z.strictObject({
  price: str.optional(),
  price_data: priceData.optional(),
  quantity: int.optional(),
  metadata: metadata.optional(),
  adjustable_quantity: z.strictObject({ enabled: bool, minimum: int.optional(), maximum: int.optional() }).optional(),
  tax_rates: list(str).optional(),
});

export const createSessionParams = z.strictObject({
  mode: z.enum(['payment', 'subscription']),
  line_items: list(lineItem).optional(),
  customer: str.optional(),
  customer_email: str.optional(),
  customer_creation: z.enum(['always', 'if_required']).optional(),
  success_url: str.optional(),
  cancel_url: str.optional(),
  return_url: str.optional(),
  ui_mode: z.enum(['hosted', 'embedded', 'custom']).optional(),
  metadata: metadata.optional(),
  client_reference_id: str.optional(),
  currency: str.optional(),
  expires_at: int.optional(),
  allow_promotion_codes: bool.optional(),
  locale: str.optional(),
  billing_address_collection: z.enum(['auto', 'required']).optional(),
  submit_type: z.enum(['auto', 'book', 'donate', 'pay', 'subscribe']).optional(),
  payment_intent_data: z.strictObject({
    metadata: metadata.optional(),
    description: str.optional(),
    receipt_email: str.optional(),
    setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
    statement_descriptor: str.optional(),
    statement_descriptor_suffix: str.optional(),
  }).optional(),
  subscription_data: z.strictObject({
    metadata: metadata.optional(),
    description: str.optional(),
    proration_behavior: z.enum(['create_prorations', 'none']).optional(),
  }).optional(),
  invoice_creation: z.strictObject({
    enabled: bool,
    invoice_data: z.strictObject({
      metadata: metadata.optional(),
      description: str.optional(),
      footer: str.optional(),
    }).optional(),
  }).optional(),
  expand,
});
export type CreateSessionParams = z.infer<typeof createSessionParams>;
export type LineItemParams = z.infer<typeof lineItem>;

export const listSessionParams = z.strictObject({
  ...pagination,
  customer: str.optional(),
  status: z.enum(['open', 'complete', 'expired']).optional(),
  subscription: str.optional(),
  payment_intent: str.optional(),
  created: range.optional(),
  customer_details: z.strictObject({ email: str }).optional(),
});

export const retrieveParams = z.strictObject({ expand });
export const listLineItemsParams = z.strictObject({ ...pagination });
