/** The devhost's configuration rules: host.json and local.settings.json validation, settings and
 *  connection resolution, durations, function keys, message encodings, log scrubbing. Pure. */
import { parseCliArguments } from '../../src/devhost/cli';
import { isDevhostError } from '../../src/devhost/errors';
import { expandBraces, hasGlobMagic, segmentToRegExp } from '../../src/devhost/glob';
import { authorize, parseHttpKeys, presentedKey } from '../../src/devhost/httpKeys';
import { parseJsonText } from '../../src/devhost/jsonFile';
import { redactSecrets } from '../../src/devhost/logger';
import { queueMessagesFrom } from '../../src/devhost/outputBindings';
import { nextPollingDelayInMs } from '../../src/devhost/queueTrigger';
import { parseRetryOptions, retryDelayInMs } from '../../src/devhost/retryPolicy';
import {
  lookupConnection,
  mergeSettings,
  parseHostJson,
  parseLocalSettings,
  resolveSettingExpressions,
  STANDARD_DEVELOPMENT_STORAGE,
} from '../../src/devhost/settings';
import { decodeQueueMessage, encodeQueueMessage, normalizeQueueName } from '../../src/devhost/storage';
import { formatTimeSpan, parseTimeSpanInMs } from '../../src/devhost/timeSpan';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('host.json', () => {
  test('defaults are the Functions host defaults', () => {
    const config = parseHostJson({ version: '2.0' }, '/app/host.json');
    expect(config.routePrefix).toBe('api');
    expect(config.queues).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxDequeueCount: 5,
      visibilityTimeoutInMs: 0,
      maxPollingIntervalInMs: 60_000,
      messageEncoding: 'base64',
    });
    expect(config.functionTimeoutInMs).toBe(30 * 60_000);
    expect(config.logLevel).toBe('information');
  });

  test('the honoured sections are read', () => {
    const config = parseHostJson(
      {
        version: '2.0',
        functionTimeout: '00:05:00',
        extensions: {
          http: { routePrefix: '/v1/' },
          queues: { batchSize: 4, maxDequeueCount: 2, visibilityTimeout: '00:00:10', maxPollingInterval: '00:00:02', messageEncoding: 'None' },
          durableTask: { hubName: 'MyHub', maxConcurrentActivityFunctions: 3, maxConcurrentOrchestratorFunctions: 2, storageProvider: {} },
        },
        somethingElse: true,
      },
      '/app/host.json',
    );
    expect(config.routePrefix).toBe('v1');
    expect(config.queues).toMatchObject({ batchSize: 4, newBatchThreshold: 2, maxDequeueCount: 2, visibilityTimeoutInMs: 10_000, maxPollingIntervalInMs: 2_000, messageEncoding: 'none' });
    expect(config.durableTask).toEqual({ hubName: 'MyHub', maxConcurrentActivityFunctions: 3, maxConcurrentOrchestratorFunctions: 2 });
    expect(config.functionTimeoutInMs).toBe(300_000);
    expect(parseHostJson({ version: '2.0', functionTimeout: '-1' }, 'h').functionTimeoutInMs).toBeUndefined();
    expect(parseHostJson({ version: '2.0', extensions: { http: { routePrefix: '' } } }, 'h').routePrefix).toBe('');
  });

  test.each([
    [{}, 'version'],
    [{ version: '1.0' }, 'version'],
    [{ version: '2.0', functionTimeout: 'soon' }, 'functionTimeout'],
    [{ version: '2.0', extensions: { queues: { batchSize: 33 } } }, 'extensions.queues.batchSize'],
    [{ version: '2.0', extensions: { queues: { maxDequeueCount: 0 } } }, 'extensions.queues.maxDequeueCount'],
    [{ version: '2.0', extensions: { queues: { maxPollingInterval: '00:00:00' } } }, 'extensions.queues.maxPollingInterval'],
    [{ version: '2.0', extensions: { queues: { messageEncoding: 'utf8' } } }, 'extensions.queues.messageEncoding'],
    [{ version: '2.0', extensions: { http: { routePrefix: 5 } } }, 'extensions.http.routePrefix'],
    [{ version: '2.0', extensions: { durableTask: { hubName: 'a-b' } } }, 'extensions.durableTask.hubName'],
    [{ version: '2.0', extensions: { durableTask: { maxConcurrentActivityFunctions: 0 } } }, 'extensions.durableTask.maxConcurrentActivityFunctions'],
  ])('%j is refused at %s', (json, field) => {
    const e = thrown(() => parseHostJson(json, '/app/host.json'));
    expect(isDevhostError(e, 'DEVHOST_INVALID_HOST_JSON')).toBe(true);
    expect(e).toMatchObject({ details: { file: '/app/host.json', field } });
    expect((e as Error).message.startsWith(`/app/host.json: ${field}: `)).toBe(true);
  });

  test('comments are allowed; syntax errors come with a line and column', () => {
    expect(parseJsonText('{\n  // a comment\n  "a": "x//y", /* block */ "b": 1\n}')).toEqual({ ok: true, value: { a: 'x//y', b: 1 } });
    const bad = parseJsonText('{\n  "a": 1,\n  "b": }');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problem).toMatch(/^not valid JSON at line 3, column \d+/);
  });
});

describe('local.settings.json and settings', () => {
  test('Values become settings; the environment wins, as with Core Tools', () => {
    const local = parseLocalSettings({ IsEncrypted: false, Values: { A: 'from file', B: 'from file', N: 5 }, Host: { LocalHttpPort: 7072 } }, 'ls');
    expect(local.values).toEqual({ A: 'from file', B: 'from file', N: '5' });
    expect(local.localHttpPort).toBe(7072);
    const merged = mergeSettings(local.values, { B: 'from env', PATH: '/bin' });
    expect(merged.settings).toMatchObject({ A: 'from file', B: 'from env', N: '5', PATH: '/bin' });
    expect(merged.shadowed).toEqual(['B']);
  });

  test.each([
    [{ IsEncrypted: true }, 'IsEncrypted'],
    [{ Values: { X: { nested: true } } }, 'Values.X'],
    [{ Values: [] }, 'Values'],
    [{ Host: { LocalHttpPort: 'x' } }, 'Host.LocalHttpPort'],
    [{ Values: { FUNCTIONS_WORKER_RUNTIME: 'python' } }, 'Values.FUNCTIONS_WORKER_RUNTIME'],
  ])('%j is refused at %s', (json, field) => {
    const e = thrown(() => parseLocalSettings(json, '/app/local.settings.json'));
    expect(isDevhostError(e, 'DEVHOST_INVALID_LOCAL_SETTINGS')).toBe(true);
    expect((e as Error).message.startsWith(`/app/local.settings.json: ${field}: `)).toBe(true);
  });

  test('%name% expressions resolve from settings (case-insensitively); a missing one is reported', () => {
    expect(resolveSettingExpressions('%Queue%-%suffix%', { QUEUE: 'jobs', suffix: 'v1' })).toEqual({ value: 'jobs-v1' });
    expect(resolveSettingExpressions('plain', {})).toEqual({ value: 'plain' });
    expect(resolveSettingExpressions('%MISSING%', {})).toEqual({ value: '%MISSING%', missing: 'MISSING' });
  });

  test('connections: AzureWebJobs<name> then <name>, AzureWebJobsStorage by default, development storage mapped', () => {
    const dev = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=k;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;';
    const settings = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AzureWebJobsOther: 'cs-prefixed', Other: 'cs-plain', Plain: 'cs-only-plain', Ident__queueServiceUri: 'https://x' };
    expect(lookupConnection(settings, undefined, dev)).toEqual({ kind: 'connectionString', settingName: 'AzureWebJobsStorage', connectionString: dev });
    expect(lookupConnection(settings, 'Other', dev)).toMatchObject({ connectionString: 'cs-prefixed' });
    expect(lookupConnection(settings, 'Plain', dev)).toMatchObject({ connectionString: 'cs-only-plain' });
    expect(lookupConnection(settings, 'Ident', dev)).toEqual({ kind: 'identity', settingName: 'Ident' });
    expect(lookupConnection(settings, 'Nope', dev)).toEqual({ kind: 'missing', settingName: 'Nope' });
    expect(STANDARD_DEVELOPMENT_STORAGE).toContain('QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1');
  });

  test('durations are .NET TimeSpans', () => {
    expect(parseTimeSpanInMs('00:00:02')).toBe(2000);
    expect(parseTimeSpanInMs('01:02:03.5')).toBe(3_723_500);
    expect(parseTimeSpanInMs('2.00:00:00')).toBe(172_800_000);
    expect(parseTimeSpanInMs('00:60:00')).toBeUndefined();
    expect(parseTimeSpanInMs('5m')).toBeUndefined();
    expect(formatTimeSpan(3_723_500)).toBe('01:02:03.500');
    expect(formatTimeSpan(172_800_000)).toBe('2.00:00:00');
  });
});

describe('function keys', () => {
  const keys = parseHttpKeys({ DEVHOST_MASTER_KEY: 'master', DEVHOST_FUNCTION_KEYS: ' host1 , fnA:keyA,fnA:keyA2, ' });

  test('the settings are parsed into master, host and function keys', () => {
    expect(keys).toEqual({ masterKey: 'master', hostKeys: ['host1'], functionKeys: new Map([['fna', ['keyA', 'keyA2']]]) });
  });

  test('authorization by level', () => {
    expect(authorize(keys, 'anonymous', 'fnA', undefined)).toBe(true);
    expect(authorize(keys, 'function', 'fnA', undefined)).toBe(false);
    expect(authorize(keys, 'function', 'fnA', 'keyA2')).toBe(true);
    expect(authorize(keys, 'function', 'FNA', 'keyA')).toBe(true);
    expect(authorize(keys, 'function', 'fnB', 'keyA')).toBe(false);
    expect(authorize(keys, 'function', 'fnB', 'host1')).toBe(true);
    expect(authorize(keys, 'function', 'fnB', 'master')).toBe(true);
    expect(authorize(keys, 'admin', 'fnB', 'host1')).toBe(false);
    expect(authorize(keys, 'admin', 'fnB', 'master')).toBe(true);
  });

  test('without keys nothing is enforced (as Core Tools)', () => {
    expect(authorize(parseHttpKeys({}), 'admin', 'f', undefined)).toBe(true);
  });

  test('the key comes from ?code= or x-functions-key', () => {
    expect(presentedKey(new URLSearchParams('code=a'), { 'x-functions-key': 'b' })).toBe('a');
    expect(presentedKey(new URLSearchParams(''), { 'x-functions-key': 'b' })).toBe('b');
    expect(presentedKey(new URLSearchParams(''), {})).toBeUndefined();
  });
});

describe('queues', () => {
  test('base64 encoding round-trips; text that is not base64 is refused', () => {
    expect(encodeQueueMessage('héllo', 'base64')).toBe(Buffer.from('héllo').toString('base64'));
    expect(decodeQueueMessage(encodeQueueMessage('héllo', 'base64'), 'base64').toString()).toBe('héllo');
    expect(decodeQueueMessage('plain text', 'none').toString()).toBe('plain text');
    expect(() => decodeQueueMessage('not base64!', 'base64')).toThrow(/not valid base64/);
  });

  test('queue names are lower-cased and checked', () => {
    expect(normalizeQueueName('Jobs-1')).toEqual({ name: 'jobs-1' });
    expect(normalizeQueueName('a')).toHaveProperty('problem');
    expect(normalizeQueueName('a--b')).toHaveProperty('problem');
    expect(normalizeQueueName('-ab')).toHaveProperty('problem');
  });

  test('an output value becomes one message per array element', () => {
    expect(queueMessagesFrom({ string: 'x' })).toEqual(['x']);
    expect(queueMessagesFrom({ json: '{"a":1}' })).toEqual(['{"a":1}']);
    expect(queueMessagesFrom({ json: '["a",{"b":2},null]' })).toEqual(['a', '{"b":2}']);
    expect(queueMessagesFrom({ int: 3 })).toEqual(['3']);
    expect(queueMessagesFrom(undefined)).toEqual([]);
  });

  test('polling backs off exponentially up to maxPollingInterval', () => {
    const noJitter = (): number => 0.5;
    let delay = 100;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push((delay = nextPollingDelayInMs(delay, 5_000, noJitter)));
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });
});

describe('retry policies', () => {
  test('fixed delay and exponential back-off, as @azure/functions registers them', () => {
    const fixed = parseRetryOptions({ retryStrategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { seconds: 3 } });
    expect(fixed && retryDelayInMs(fixed, 1)).toBe(3000);
    const exp = parseRetryOptions({ retryStrategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: { seconds: 1 }, maximumInterval: { seconds: 5 } });
    expect(exp && [1, 2, 3, 4].map((n) => retryDelayInMs(exp, n))).toEqual([1000, 2000, 4000, 5000]);
    expect(parseRetryOptions(undefined)).toBeUndefined();
  });
});

describe('logs and arguments', () => {
  test('secrets are scrubbed from log lines', () => {
    const line = redactSecrets(
      'cs=DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc123==;EndpointSuffix=x url=https://h/c?sv=1&sig=XYZ%2B&se=2 /api/f?code=k1 x-functions-key: k2 custom-secret',
      ['custom-secret'],
    );
    expect(line).not.toMatch(/abc123|XYZ|k1|k2|custom-secret/);
    expect(line).toContain('AccountKey=***');
    expect(line).toContain('sig=***');
  });

  test('the CLI takes an app folder and an optional port', () => {
    expect(parseCliArguments(['app'])).toEqual({ appDir: 'app', port: undefined });
    expect(parseCliArguments(['app', '--port', '7072'])).toEqual({ appDir: 'app', port: 7072 });
    expect(parseCliArguments(['--port=0', 'app'])).toEqual({ appDir: 'app', port: 0 });
    expect(() => parseCliArguments([])).toThrow(/app folder/);
    expect(() => parseCliArguments(['app', '--port'])).toThrow(/--port/);
    expect(() => parseCliArguments(['app', '--nope'])).toThrow(/unknown option/);
  });
});

describe('package.json main globs', () => {
  test('braces expand, segments match like globby', () => {
    expect(expandBraces('dist/{functions,hooks}/*.{js,cjs}')).toEqual([
      'dist/functions/*.js',
      'dist/functions/*.cjs',
      'dist/hooks/*.js',
      'dist/hooks/*.cjs',
    ]);
    expect(segmentToRegExp('*.js').test('app.js')).toBe(true);
    expect(segmentToRegExp('*.js').test('app.jsx')).toBe(false);
    expect(segmentToRegExp('f?o.[jt]s').test('foo.ts')).toBe(true);
    expect(segmentToRegExp('[!a]*').test('abc')).toBe(false);
    expect(hasGlobMagic('dist/index.js')).toBe(false);
    expect(hasGlobMagic('dist/**/*.js')).toBe(true);
  });
});
