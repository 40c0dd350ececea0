/** RFC 9457 problem responses (src/http/problem.ts): from DeltavaultErrors, schema failures and
 *  unexpected errors, the last logged without secrets and answered without detail. Pure. */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { z } from 'zod';
import { errors } from '../../src/errors';
import {
  PROBLEM_CONTENT_TYPE,
  answerWithProblems,
  jsonPointer,
  problemFromError,
  problemFromZod,
  problemResponse,
  type Problem,
} from '../../src/http/problem';

function context(): { invocationId: string; error: jest.Mock; logged(): string } {
  const error = jest.fn();
  return { invocationId: randomUUID(), error, logged: () => error.mock.calls.map((c) => c.join(' ')).join('\n') };
}

describe('problems from DeltavaultErrors', () => {
  test.each([
    [errors.invalidArgument('disk key', "'X' must be lowercase"), 400, 'Bad Request', 'INVALID_ARGUMENT', '15.5.1'],
    [errors.notFound('recovery point', 'vm1.20240305T070809010Z'), 404, 'Not Found', 'NOT_FOUND', '15.5.5'],
    [errors.chainConflict('vm1'), 409, 'Conflict', 'CHAIN_CONFLICT', '15.5.10'],
    [errors.manifestInvalid('disks/vm1/points/x.json', 'version: unknown'), 500, 'Internal Server Error', 'MANIFEST_INVALID', '15.6.1'],
    [errors.storage('reading x', Object.assign(new Error('boom'), { statusCode: 503, code: 'ServerBusy' })), 502, 'Bad Gateway', 'STORAGE_FAILED', '15.6.3'],
  ])('%s → %i', (error, status, title, code, section) => {
    const ctx = context();
    const p = problemFromError(error, ctx);
    expect(p).toEqual<Problem>({
      type: `https://www.rfc-editor.org/rfc/rfc9110#section-${section}`,
      title,
      status,
      detail: error.message,
      code: code as Problem['code'],
      instance: `urn:uuid:${ctx.invocationId}`,
    });
    // Server-side failures are logged; the caller's mistakes are not.
    expect(ctx.error).toHaveBeenCalledTimes(status >= 500 ? 1 : 0);
    if (status >= 500) expect(ctx.logged()).toContain(code);
  });

  test('the response is application/problem+json with the problem as its body', () => {
    const p = problemFromError(errors.notFound('recovery point', 'x'));
    const res = problemResponse(p);
    expect(res.status).toBe(404);
    expect(res.headers).toEqual({ 'content-type': PROBLEM_CONTENT_TYPE });
    expect(JSON.parse(res.body as string)).toEqual(p);
    expect(p.instance).toBeUndefined();
  });
});

describe('problems from schema failures', () => {
  const bodySchema = z.object({
    recoveryPointId: z.string().min(1),
    target: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('pageBlob'), container: z.string(), blob: z.string() }),
      z.object({ kind: z.literal('managedDisk'), resourceGroup: z.string(), name: z.string() }),
    ]),
  });

  test('a body: one error per issue, each with a JSON pointer, and a detail listing them', () => {
    const result = bodySchema.safeParse({ recoveryPointId: '', target: { kind: 'floppy' } });
    if (result.success) throw new Error('expected a failure');
    const ctx = context();
    const p = problemFromZod(result.error, 'body', ctx);
    expect(p).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', title: 'Bad Request', instance: `urn:uuid:${ctx.invocationId}` });
    expect(p.errors).toEqual([
      { pointer: '#/recoveryPointId', detail: expect.any(String) },
      { pointer: '#/target/kind', detail: expect.any(String) },
    ]);
    expect(p.detail).toMatch(/^the request's body is invalid: \/recoveryPointId: .+; \/target\/kind: .+/);
    expect(ctx.error).not.toHaveBeenCalled();
  });

  test('a query: errors name the parameter', () => {
    const result = z.object({ hashes: z.enum(['true', 'false']) }).safeParse({ hashes: 'yes' });
    if (result.success) throw new Error('expected a failure');
    const p = problemFromZod(result.error, 'query');
    expect(p.errors).toEqual([{ parameter: 'hashes', detail: expect.any(String) }]);
    expect(p.detail).toMatch(/^the request's query is invalid: hashes: /);
  });

  test('a thrown ZodError is a 400 too', () => {
    const thrown = (() => {
      try {
        z.object({ a: z.number() }).parse({ a: 'x' });
      } catch (e) {
        return e;
      }
    })();
    expect(problemFromError(thrown)).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', errors: [{ pointer: '#/a' }] });
  });

  test('JSON pointers escape ~ and / (RFC 6901) and percent-encode the rest', () => {
    expect(jsonPointer([])).toBe('#');
    expect(jsonPointer(['a/b', 'c~d', 0, 'e f'])).toBe('#/a~1b/c~0d/0/e%20f');
  });
});

describe('unexpected errors', () => {
  test('a 500 whose detail names only the invocation; the error goes to the log, scrubbed', () => {
    const ctx = context();
    const key = Buffer.alloc(64, 9).toString('base64');
    const e = new Error(`could not reach https://acct.blob.core.windows.net/c/b?sv=1&sig=SIGNATURE123 using AccountName=acct;AccountKey=${key};`);
    const p = problemFromError(e, ctx);
    expect(p).toMatchObject({ status: 500, code: 'INTERNAL_ERROR', title: 'Internal Server Error' });
    expect(p.detail).toBe(`an unexpected error occurred; the service log describes it under invocation id ${ctx.invocationId}`);
    expect(JSON.stringify(p)).not.toMatch(/acct|SIGNATURE123/);
    expect(ctx.error).toHaveBeenCalledTimes(1);
    expect(ctx.logged()).toMatch(/Unexpected error: Error: could not reach https:\/\/acct\.blob\.core\.windows\.net\/c\/b\?\[redacted\]/);
    expect(ctx.logged()).not.toContain('SIGNATURE123');
    expect(ctx.logged()).not.toContain(key);
  });

  test('non-Error throws are 500s as well', async () => {
    const ctx = context();
    const res = await answerWithProblems(ctx, async () => {
      throw { weird: true };
    });
    expect(res.status).toBe(500);
    expect(ctx.logged()).toContain('{"weird":true}');
  });

  test('answerWithProblems passes a successful answer through', async () => {
    expect(await answerWithProblems(context(), async () => ({ status: 200, jsonBody: [] }))).toEqual({ status: 200, jsonBody: [] });
  });

  test('property: a key or signature in an unexpected error reaches neither the answer nor the log', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 18, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        fc.constantFrom(
          (s: string) => `AccountKey=${s}`,
          (s: string) => `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${s};EndpointSuffix=core.windows.net`,
          (s: string) => `https://a.blob.core.windows.net/c/b?sv=2022&sig=${encodeURIComponent(s)}`,
          (s: string) => `http://127.0.0.1:10000/devstoreaccount1/c?comp=list&sig=${encodeURIComponent(s)}&se=1`,
          (s: string) => `SharedAccessSignature=sv=1&sig=${s}`,
          (s: string) => `Authorization: Bearer ${s.replace(/[^A-Za-z0-9]/g, 'x')}`,
        ),
        fc.string({ maxLength: 20 }),
        (secret, embed, noise) => {
          const ctx = context();
          const shown = embed(secret);
          const p = problemFromError(new Error(`${noise} ${shown} ${noise}`), ctx);
          const hidden = shown.startsWith('Authorization') ? secret.replace(/[^A-Za-z0-9]/g, 'x') : secret;
          for (const text of [JSON.stringify(p), ctx.logged()]) {
            expect(text).not.toContain(hidden);
            expect(text).not.toContain(encodeURIComponent(hidden));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
