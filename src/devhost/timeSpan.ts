/**
 * .NET TimeSpan strings as host.json writes durations: `hh:mm:ss`, `d.hh:mm:ss`, with optional
 * fractional seconds (`00:00:00.500`). Pure.
 */
const TIME_SPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/;

/** Milliseconds in `text`, or undefined when it is not a TimeSpan. */
export function parseTimeSpanInMs(text: string): number | undefined {
  const m = TIME_SPAN.exec(text.trim());
  if (!m) return undefined;
  const [, days, hours, minutes, seconds, fraction] = m;
  const h = Number(hours);
  const min = Number(minutes);
  const s = Number(seconds);
  if (h > 23 || min > 59 || s > 59) return undefined;
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return Math.round((((Number(days ?? 0) * 24 + h) * 60 + min) * 60 + s) * 1000 + fractionMs);
}

/** `hh:mm:ss` (with `d.` and `.fff` when needed), the inverse of `parseTimeSpanInMs`. */
export function formatTimeSpan(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const fraction = total % 1000;
  let seconds = Math.floor(total / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
  return `${days > 0 ? `${days}.` : ''}${hms}${fraction > 0 ? `.${String(fraction).padStart(3, '0')}` : ''}`;
}
