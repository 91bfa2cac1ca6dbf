/**
 * Bad input (a malformed scenario, flag or rule line): the CLI prints the message and exits 2,
 * having changed nothing. The message names where the problem is (file:line, rule line).
 */
export class InputError extends Error {
  override readonly name = 'InputError';
}

export const EXIT_OK = 0;
export const EXIT_NOT_DELIVERED = 1;
export const EXIT_BAD_INPUT = 2;
