/**
 * Reads a request's JSON body with a size limit: over the limit it answers the 413 problem
 * itself (checking the declared length first, then the bytes received); malformed JSON
 * throws an INVALID_ARGUMENT error saying what to send, which becomes a 400 problem.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { errors } from '../errors';
import { problem, problemResponse, type ProblemContext } from './problem';

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
