/** HTTP trigger route templates: parsing, matching with parameters and constraints, precedence. */
import fc from 'fast-check';
import { compareRoutePrecedence, matchRoute, parseRouteTemplate, RouteTemplateError } from '../../src/devhost/routeTemplate';

const match = (template: string, pathname: string): Record<string, string> | undefined => matchRoute(parseRouteTemplate(template), pathname);

describe('route templates', () => {
  test('literal segments match case-insensitively, with or without a trailing slash', () => {
    expect(match('api/Hello', '/api/hello')).toEqual({});
    expect(match('api/hello', '/API/HELLO/')).toEqual({});
    expect(match('api/hello', '/api/hello/x')).toBeUndefined();
    expect(match('api/hello', '/api')).toBeUndefined();
    expect(match('', '/')).toEqual({});
  });

  test('{param} takes one segment, decoded', () => {
    expect(match('api/items/{category}/{id}', '/api/items/books/42')).toEqual({ category: 'books', id: '42' });
    expect(match('api/items/{name}', '/api/items/a%20b%2Fc')).toEqual({ name: 'a b/c' });
    expect(match('api/items/{name}', '/api/items/a/b')).toBeUndefined();
    expect(match('api/items/{name}', '/api/items')).toBeUndefined();
  });

  test('{param?} may be absent (only at the end); {param=default} supplies a value', () => {
    expect(match('api/items/{id?}', '/api/items')).toEqual({});
    expect(match('api/items/{id?}', '/api/items/7')).toEqual({ id: '7' });
    expect(match('api/items/{a}/{b?}/{c?}', '/api/items/1/2')).toEqual({ a: '1', b: '2' });
    expect(match('api/page/{n=1}', '/api/page')).toEqual({ n: '1' });
    expect(match('api/page/{n=1}', '/api/page/3')).toEqual({ n: '3' });
    expect(() => parseRouteTemplate('api/{a?}/fixed')).toThrow(RouteTemplateError);
  });

  test('{*rest} catches the remaining path, slashes included, or nothing', () => {
    expect(match('api/files/{*path}', '/api/files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('api/files/{*path}', '/api/files')).toEqual({});
    expect(match('api/files/{**path}', '/api/files/x')).toEqual({ path: 'x' });
    expect(() => parseRouteTemplate('api/{*rest}/more')).toThrow(/catch-all/);
  });

  test('inline constraints filter matches', () => {
    expect(match('api/items/{id:int}', '/api/items/42')).toEqual({ id: '42' });
    expect(match('api/items/{id:int}', '/api/items/4x')).toBeUndefined();
    expect(match('api/items/{id:int}', '/api/items/99999999999')).toBeUndefined();
    expect(match('api/items/{id:long}', '/api/items/99999999999')).toEqual({ id: '99999999999' });
    expect(match('api/{name:alpha:maxlength(3)}', '/api/abc')).toEqual({ name: 'abc' });
    expect(match('api/{name:alpha:maxlength(3)}', '/api/abcd')).toBeUndefined();
    expect(match('api/{id:guid}', '/api/0f8fad5b-d9cb-469f-a165-70867728950e')).toBeDefined();
    expect(match('api/{flag:bool}', '/api/TRUE')).toEqual({ flag: 'TRUE' });
    expect(match('api/{n:range(1,10)}', '/api/11')).toBeUndefined();
    expect(match('api/{n:min(5)}', '/api/5')).toEqual({ n: '5' });
    expect(match('api/{code:regex(^[a-z]{{2}}$)}', '/api/ab')).toEqual({ code: 'ab' });
    expect(match('api/{code:regex(^[a-z]{{2}}$)}', '/api/abc')).toBeUndefined();
    expect(match('api/items/{id:int?}', '/api/items')).toEqual({});
    expect(() => parseRouteTemplate('api/{id:nosuch}')).toThrow(/unknown constraint "nosuch"/);
  });

  test('complex segments split on their literals', () => {
    expect(match('api/{name}.{ext}', '/api/readme.md')).toEqual({ name: 'readme', ext: 'md' });
    expect(match('api/{name}.{ext?}', '/api/readme')).toEqual({ name: 'readme' });
    expect(match('api/v{version:int}/items', '/api/v2/items')).toEqual({ version: '2' });
  });

  test('malformed templates are refused with the reason', () => {
    expect(() => parseRouteTemplate('api/{id')).toThrow(/closing/);
    expect(() => parseRouteTemplate('api/id}')).toThrow(/unmatched/);
    expect(() => parseRouteTemplate('api/{a}{b}')).toThrow(/separated/);
    expect(() => parseRouteTemplate('api/{a}/{a}')).toThrow(/twice/);
    expect(() => parseRouteTemplate('api/{1a}')).toThrow(/not valid/);
    expect(() => parseRouteTemplate('api//x')).toThrow(/empty segment/);
  });

  test('the most specific route wins: literal, then constrained parameter, then parameter, then catch-all', () => {
    const templates = ['api/{*rest}', 'api/items/{id}', 'api/items/{id:int}', 'api/items/new', 'api/{section}/{id}'];
    const sorted = templates.map((t) => parseRouteTemplate(t)).sort(compareRoutePrecedence).map((r) => r.template);
    expect(sorted).toEqual(['api/items/new', 'api/items/{id:int}', 'api/items/{id}', 'api/{section}/{id}', 'api/{*rest}']);
    const routes = templates.map((t) => parseRouteTemplate(t)).sort(compareRoutePrecedence);
    const first = (pathname: string): string | undefined => routes.find((r) => matchRoute(r, pathname))?.template;
    expect(first('/api/items/new')).toBe('api/items/new');
    expect(first('/api/items/5')).toBe('api/items/{id:int}');
    expect(first('/api/items/five')).toBe('api/items/{id}');
    expect(first('/api/other/5')).toBe('api/{section}/{id}');
    expect(first('/api/a/b/c')).toBe('api/{*rest}');
  });

  test('property: any single-segment value round-trips through {param} when percent-encoded', () => {
    const route = parseRouteTemplate('api/x/{value}');
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (value) => {
        expect(matchRoute(route, `/api/x/${encodeURIComponent(value)}`)).toEqual({ value });
      }),
      { numRuns: 300 },
    );
  });
});
