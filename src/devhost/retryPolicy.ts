/**
 * Function-level retry policies (`retry` in app.timer(...) options: fixedDelay or
 * exponentialBackoff), which the Functions host applies to timer triggers: a failed invocation
 * is run again with `retryContext` {retryCount, maxRetryCount}, up to maxRetryCount times
 * (-1: forever). Queue triggers retry through the queue instead (dequeue count, poison queue).
 */
import type { InvocationRequest, InvocationResult } from './hostTypes';

interface RpcDuration {
  seconds?: number | null;
  nanos?: number | null;
}

export interface RetryOptions {
  strategy: 'fixedDelay' | 'exponentialBackoff';
  maxRetryCount: number;
  delayInMs: number;
  minimumIntervalInMs: number;
  maximumIntervalInMs: number;
}

const durationInMs = (d: RpcDuration | null | undefined): number => ((d?.seconds ?? 0) * 1000) + Math.round((d?.nanos ?? 0) / 1e6);

/** The registered retry options (as @azure/functions converts them), or undefined for none. */
export function parseRetryOptions(raw: unknown): RetryOptions | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as {
    retryStrategy?: string;
    strategy?: string;
    maxRetryCount?: number;
    delayInterval?: RpcDuration;
    minimumInterval?: RpcDuration;
    maximumInterval?: RpcDuration;
  };
  const strategy = r.retryStrategy ?? r.strategy;
  if (strategy !== 'fixedDelay' && strategy !== 'exponentialBackoff') return undefined;
  return {
    strategy,
    maxRetryCount: typeof r.maxRetryCount === 'number' ? r.maxRetryCount : 0,
    delayInMs: durationInMs(r.delayInterval),
    minimumIntervalInMs: durationInMs(r.minimumInterval),
    maximumIntervalInMs: durationInMs(r.maximumInterval),
  };
}

/** Delay before retry number `retryCount` (1-based). */
export function retryDelayInMs(options: RetryOptions, retryCount: number): number {
  if (options.strategy === 'fixedDelay') return options.delayInMs;
  const exponential = options.minimumIntervalInMs * 2 ** Math.max(0, retryCount - 1);
  return Math.min(options.maximumIntervalInMs || Number.POSITIVE_INFINITY, exponential);
}

/** Invokes, then retries per `options` while the invocation fails and `shouldContinue()` holds. */
export async function invokeWithRetry(
  invoke: (request: InvocationRequest) => Promise<InvocationResult>,
  request: InvocationRequest,
  options: RetryOptions | undefined,
  shouldContinue: () => boolean,
  sleep: (ms: number) => Promise<void>,
): Promise<InvocationResult> {
  let result = await invoke(request);
  if (!options) return result;
  for (let retry = 1; result.error && shouldContinue() && (options.maxRetryCount === -1 || retry <= options.maxRetryCount); retry++) {
    await sleep(retryDelayInMs(options, retry));
    if (!shouldContinue()) break;
    result = await invoke({ ...request, invocationId: undefined, retryContext: { retryCount: retry, maxRetryCount: options.maxRetryCount } });
  }
  return result;
}
