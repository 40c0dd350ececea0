/**
 * Finds secrets in text that must never be logged, put in an event or in orchestration history:
 * SAS signatures (`sig=`), storage account keys (the Azurite key, or any given), and connection
 * strings' `AccountKey=`. Tests scan what the code under test wrote and expect nothing.
 */
import { inspect } from 'node:util';
import { EMULATOR_KEY } from '../../src/devhost/azuriteLauncher';

export interface SecretFinding {
  readonly kind: 'sasSignature' | 'accountKey' | 'connectionStringKey';
  /** Where in the text (character offset). */
  readonly index: number;
  /** Some text around the finding, with the secret itself masked. */
  readonly context: string;
}

const SIG = /[?&;\s"']sig=[^&\s"';]+|^sig=/gi;
const CONNECTION_KEY = /AccountKey=[^;\s"']+/gi;

/** Every secret in `text`: SAS signatures, `AccountKey=` values and the given (or Azurite's) account keys. */
export function findSecrets(text: string, accountKeys: readonly string[] = [EMULATOR_KEY]): SecretFinding[] {
  const found: SecretFinding[] = [];
  const around = (index: number, length: number): string =>
    `${text.slice(Math.max(0, index - 40), index)}<secret>${text.slice(index + length, index + length + 40)}`;
  for (const m of text.matchAll(SIG)) found.push({ kind: 'sasSignature', index: m.index ?? 0, context: around(m.index ?? 0, m[0].length) });
  for (const m of text.matchAll(CONNECTION_KEY)) found.push({ kind: 'connectionStringKey', index: m.index ?? 0, context: around(m.index ?? 0, m[0].length) });
  for (const key of accountKeys) {
    const variants = new Set([key, encodeURIComponent(key)]);
    for (const v of variants) {
      for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + 1)) found.push({ kind: 'accountKey', index: i, context: around(i, v.length) });
    }
  }
  return found.sort((a, b) => a.index - b.index);
}

/** `text` with every SAS signature and account key replaced by `<redacted>`. */
export function scrubSecrets(text: string, accountKeys: readonly string[] = [EMULATOR_KEY]): string {
  let out = text.replace(/([?&;\s"']|^)sig=[^&\s"';]+/gi, '$1sig=<redacted>').replace(CONNECTION_KEY, 'AccountKey=<redacted>');
  for (const key of accountKeys) out = out.split(key).join('<redacted>').split(encodeURIComponent(key)).join('<redacted>');
  return out;
}

/** Everything a test got back or caught, as the text a scan reads: an error's message, stack, fields and JSON; a value's JSON and fields. */
export function scanText(values: readonly unknown[]): string {
  return values
    .map((x) => (x instanceof Error ? `${x.message}\n${x.stack}\n${inspect(x, { depth: 8 })}\n${JSON.stringify(x)}` : `${JSON.stringify(x)}\n${inspect(x, { depth: 8 })}`))
    .join('\n');
}
