/**
 * Keeping secrets out of errors and logs. A connection string lives in a `Secret`, which shows
 * itself as `[secret]` to JSON.stringify, String() and util.inspect (so logging a settings
 * object cannot leak it); `redactSecrets` scrubs account keys, SAS tokens, bearer tokens and
 * the query strings of URLs from any text before it is logged.
 */
import { inspect } from 'node:util';

const SHOWN = '[secret]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself: hand it to an SDK client, never to a log, an error or an event. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SHOWN;
  }

  toJSON(): string {
    return SHOWN;
  }

  [inspect.custom](): string {
    return SHOWN;
  }
}

const REDACTED = '[redacted]';

const PATTERNS: Array<[RegExp, string]> = [
  // Connection-string parts: AccountKey=…;  SharedAccessSignature=…;  SharedAccessKey=…;
  [/\b(AccountKey|SharedAccessSignature|SharedAccessKey|SharedAccessKeyName|ClientSecret|Password|Pwd)\s*=\s*[^;\s'"]+/gi, `$1=${REDACTED}`],
  // The query string of any URL (SAS tokens travel there).
  [/\b(https?:\/\/[^\s'"?#]+)\?[^\s'"#]*/gi, `$1?${REDACTED}`],
  // A SAS signature or function key outside a URL (`sig=…`, `code=…`).
  [/\b(sig|code)=[^&\s'";]+/gi, `$1=${REDACTED}`],
  // Authorization header values.
  [/\b(Bearer|SharedKey)\s+[A-Za-z0-9._~+/=:-]+/g, `$1 ${REDACTED}`],
];

const registered = new Set<string>();

/** Makes `redactSecrets` always scrub `value` (the app's settings register their connection values). */
export function registerSecret(value: string): void {
  if (value.length >= 8) registered.add(value);
}

/**
 * `text` with every secret-looking part, every registered secret and every one of `known`
 * replaced by `[redacted]`.
 */
export function redactSecrets(text: string, known: readonly string[] = []): string {
  let out = text;
  // Known values first, longest first, so a key inside a connection string goes with the string.
  for (const secret of [...registered, ...known].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join(REDACTED);
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
