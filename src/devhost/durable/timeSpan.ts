/** .NET TimeSpan text (`d.hh:mm:ss.fff`) for the durations the orchestration trigger carries. Pure. */
export function formatDotNetTimeSpan(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const fraction = total % 1000;
  let seconds = Math.floor(total / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const hms = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor((seconds % 3600) / 60))}:${pad(seconds % 60)}`;
  return `${days > 0 ? `${days}.` : ''}${hms}${fraction > 0 ? `.${String(fraction).padStart(3, '0')}` : ''}`;
}

const TIME_SPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

/** Milliseconds of a TimeSpan string, or undefined when it is not one. */
export function parseDotNetTimeSpan(text: string): number | undefined {
  const m = TIME_SPAN.exec(text.trim());
  if (!m) return undefined;
  const [, days, hours, minutes, seconds, fraction] = m;
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return Math.round(
    (((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds ?? 0)) * 1000 + fractionMs,
  );
}
