/**
 * Retry policy of `callActivityWithRetry` / `callSubOrchestratorWithRetry`, computed the way
 * DurableTask.Core's RetryInterceptor does: attempt n (0-based) failed → wait
 * firstRetryInterval × backoffCoefficient^n (capped by maxRetryInterval) on a durable timer, and
 * after the last attempt one more timer fires before the failure surfaces (durable-functions'
 * RetryableTask waits for exactly that timer). Pure.
 */
import type { RetryOptionsJson } from './actions';

export interface RetryPolicy {
  firstRetryIntervalMs: number;
  maxNumberOfAttempts: number;
  backoffCoefficient: number;
  maxRetryIntervalMs: number;
}

export function toRetryPolicy(options: RetryOptionsJson): RetryPolicy {
  if (!(options.firstRetryIntervalInMilliseconds > 0)) {
    throw new RangeError('firstRetryIntervalInMilliseconds value must be greater than 0.');
  }
  return {
    firstRetryIntervalMs: options.firstRetryIntervalInMilliseconds,
    maxNumberOfAttempts: Math.max(1, Math.floor(options.maxNumberOfAttempts)),
    backoffCoefficient:
      options.backoffCoefficient !== undefined && options.backoffCoefficient > 0 ? options.backoffCoefficient : 1,
    maxRetryIntervalMs:
      options.maxRetryIntervalInMilliseconds !== undefined && options.maxRetryIntervalInMilliseconds > 0
        ? options.maxRetryIntervalInMilliseconds
        : Number.POSITIVE_INFINITY,
  };
  // retryTimeoutInMilliseconds is deliberately not honoured: DurableTask.Core ends the retry loop
  // without a final timer when it expires, which durable-functions' RetryableTask never learns of
  // (it would wait forever). Attempts are bounded by maxNumberOfAttempts instead.
}

/** Delay before the retry that follows failed attempt `attempt` (0-based). */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  const delay = policy.firstRetryIntervalMs * Math.pow(policy.backoffCoefficient, attempt);
  return Math.max(1, Math.min(delay, policy.maxRetryIntervalMs));
}
