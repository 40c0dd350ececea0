/**
 * Long reads of a recovery point (a page-blob restore, a managed-disk restore's write and its
 * read-back, a verify) run in slices of address space, one activity each, so a large disk stays
 * within an activity's time limit. Slices are aligned to 64 GiB (a multiple of every block and
 * window size). Pure.
 */
export const SLICE_BYTES = 64 * 1024 ** 3;

export interface Slice {
  start: number;
  end: number;
}

/** The slices covering a point of `sizeBytes`, in order. */
export function slicesOf(sizeBytes: number, sliceBytes = SLICE_BYTES): Slice[] {
  const out: Slice[] = [];
  for (let start = 0; start < sizeBytes; start += sliceBytes) out.push({ start, end: Math.min(start + sliceBytes, sizeBytes) });
  return out;
}
