import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { TestApp } from '../helper.js';

type Op = { parameters?: any[]; requestBody?: any; responses: Record<string, { headers?: Record<string, any>; content?: Record<string, { schema: any }> }> };

/** Validates real responses against the served, dereferenced /openapi.json; collects every disagreement. */
export async function specChecker(ctx: TestApp) {
  const served = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const doc: any = await SwaggerParser.dereference(structuredClone(served));
  const ajv = new (Ajv2020 as any).default({ strict: false, allErrors: true, validateFormats: true });
  (addFormats as any).default(ajv);
  const cache = new Map<any, any>();
  const problems: string[] = [];
  const seen: string[] = [];
  const op = (method: string, template: string): Op => {
    const found = doc.paths[template]?.[method.toLowerCase()];
    if (!found) throw new Error(`no operation ${method} ${template}`);
    return found;
  };
  const check = (method: string, template: string, reply: { status: number; body: any; headers: Record<string, unknown> }, note = '') => {
    const o = op(method, template);
    const name = `${method} ${template} → ${reply.status}${note ? ` (${note})` : ''}`;
    seen.push(reply.status >= 400 ? `${name} ${JSON.stringify(reply.body).slice(0, 200)}` : name);
    const response = o.responses[String(reply.status)] ?? o.responses[`${String(reply.status)[0]}XX`] ?? o.responses.default;
    if (!response) {
      problems.push(`${name}: status not documented (documents ${Object.keys(o.responses).join(',')}) body=${JSON.stringify(reply.body).slice(0, 300)}`);
      return reply;
    }
    const schema = response.content?.['application/json']?.schema;
    if (schema && reply.status !== 204) {
      let validate = cache.get(schema);
      if (!validate) cache.set(schema, (validate = ajv.compile(schema)));
      if (!validate(reply.body)) problems.push(`${name}: body does not validate: ${ajv.errorsText(validate.errors)} body=${JSON.stringify(reply.body).slice(0, 400)}`);
    }
    for (const [header, spec] of Object.entries(response.headers ?? {})) {
      if ((spec as any).required && reply.headers[header.toLowerCase()] === undefined) problems.push(`${name}: required header ${header} not sent`);
    }
    if (reply.headers['idempotent-replayed'] !== undefined && !Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === 'idempotent-replayed')) problems.push(`${name}: sends idempotent-replayed, undocumented`);
    if (reply.headers['retry-after'] !== undefined && !Object.keys(response.headers ?? {}).some((h) => h.toLowerCase() === 'retry-after')) problems.push(`${name}: sends retry-after, undocumented`);
    return reply;
  };
  const call = async (method: string, template: string, url: string, body?: unknown, headers?: Record<string, string>, note?: string) =>
    check(method, template, await ctx.call(method, url, body, headers), note);
  return { doc, op, check, call, problems, seen };
}
