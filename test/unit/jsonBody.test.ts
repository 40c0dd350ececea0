/** Reading a request's JSON body (src/http/jsonBody.ts): the size limit (413), malformed JSON
 *  (INVALID_ARGUMENT, a 400), and with readJsonRequest the schema (400 naming each field). Pure. */
import { randomUUID } from 'node:crypto';
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { readJsonBody, readJsonRequest } from '../../src/http/jsonBody';
import type { Problem } from '../../src/http/problem';

const schema = z.strictObject({ disk: z.string().min(1) });
const EXPECTED = '{ "disk": "<diskKey>" }';

function post(body: string, headers: Record<string, string> = {}): HttpRequest {
  return new HttpRequest({ method: 'POST', url: 'http://localhost/api/backups', body: { string: body }, headers });
}

function context(): { invocationId: string; error: jest.Mock } {
  return { invocationId: randomUUID(), error: jest.fn() };
}

function problemOf(response: HttpResponseInit): Problem {
  expect(response.headers).toEqual({ 'content-type': 'application/problem+json' });
  return JSON.parse(response.body as string) as Problem;
}

describe('readJsonRequest', () => {
  test('a body the schema accepts comes back as its data', async () => {
    await expect(readJsonRequest(post('{"disk":"vm1"}'), 1024, EXPECTED, schema, context())).resolves.toEqual({ data: { disk: 'vm1' } });
  });

  test('a body the schema refuses is a 400 problem naming every field', async () => {
    const ctx = context();
    const read = await readJsonRequest(post('{"disk":"","force":true}'), 1024, EXPECTED, schema, ctx);
    if (!('response' in read)) throw new Error('expected a response');
    expect(read.response.status).toBe(400);
    const problem = problemOf(read.response);
    expect(problem).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', instance: `urn:uuid:${ctx.invocationId}` });
    expect(problem.errors?.map((e) => e.pointer).sort()).toEqual(['#', '#/disk']);
  });

  test('a body over the limit is a 413 problem, by its declared length or by its bytes', async () => {
    for (const request of [post('{"disk":"vm1"}', { 'content-length': '2048' }), post(`{"disk":"${'x'.repeat(2000)}"}`)]) {
      const read = await readJsonRequest(request, 1024, EXPECTED, schema, context());
      if (!('response' in read)) throw new Error('expected a response');
      expect(read.response.status).toBe(413);
      expect(problemOf(read.response).detail).toBe('the request body is larger than 1024 bytes');
    }
  });

  test('malformed JSON throws INVALID_ARGUMENT saying what to send, as readJsonBody does', async () => {
    await expect(readJsonRequest(post('{disk'), 1024, EXPECTED, schema, context())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: `request body: is not valid JSON: send ${EXPECTED}`,
    });
    await expect(readJsonBody(post('{disk'), 1024, EXPECTED, context())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
