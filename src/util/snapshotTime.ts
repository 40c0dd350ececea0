/** The time of a blob snapshot, from its id. */
import { errors } from '../errors';

/** Blob snapshot ids are ISO timestamps with 7 fractional digits. */
export function snapshotTime(snapshotId: string): Date {
  const date = new Date(snapshotId.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  if (Number.isNaN(date.getTime())) throw errors.invalidArgument('snapshot id', `'${snapshotId}' is not a blob snapshot timestamp`);
  return date;
}
