/**
 * What pages may ask of the shell (main.ts), without importing it: re-read the data now (after an
 * action), and show an error in the banner. main.ts fills these in at start.
 */
export const app = {
  /** Polls now instead of waiting for the next tick. */
  refresh: (): void => {},
  /** Shows an error in the page's banner. */
  error: (_err: unknown): void => {},
};
