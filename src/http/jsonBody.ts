/**
 * Reads a request's JSON body with a size limit: over the limit it answers the 413 problem
 * itself (checking the declared length first, then the bytes received); malformed JSON
 * throws an INVALID_ARGUMENT error saying what to send, which becomes a 400 problem.
 * `readJsonRequest` also checks the body against a schema and answers the 400 problem that
 * names every field the schema refused.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { z } from 'zod';
import { errors } from '../errors';
import { problem, problemFromZod, problemResponse, type ProblemContext } from './problem';

export async function readJsonBody(
  request: HttpRequest,
  maxBytes: number,
  expected: string,
  context: ProblemContext,
): Promise<{ body: unknown } | { response: HttpResponseInit }> {
  const tooLarge = (): { response: HttpResponseInit } => ({
    response: problemResponse(
      problem(413, 'INVALID_ARGUMENT', `the request body is larger than ${maxBytes} bytes`, {
        instance: context.invocationId ? `urn:uuid:${context.invocationId}` : undefined,
      }),
    ),
  });
  if (Number(request.headers.get('content-length') ?? '0') > maxBytes) return tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text, 'utf8') > maxBytes) return tooLarge();
  try {
    return { body: JSON.parse(text) as unknown };
  } catch {
    throw errors.invalidArgument('request body', `is not valid JSON: send ${expected}`);
  }
}

/** The body as `schema` reads it, or the response that refuses the request (413, or 400 naming the fields). */
export async function readJsonRequest<S extends z.ZodType>(
  request: HttpRequest,
  maxBytes: number,
  expected: string,
  schema: S,
  context: ProblemContext,
): Promise<{ data: z.output<S> } | { response: HttpResponseInit }> {
  const read = await readJsonBody(request, maxBytes, expected, context);
  if ('response' in read) return read;
  const parsed = schema.safeParse(read.body);
  if (!parsed.success) return { response: problemResponse(problemFromZod(parsed.error, 'body', context)) };
  return { data: parsed.data };
}
