/** The message of a thrown value (API errors carry the server's own message). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
