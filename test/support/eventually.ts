/** Polls until `check` passes, then returns its result; after `timeoutInMs`, throws its last failure. */
export async function eventually<T>(check: () => Promise<T>, timeoutInMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutInMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
