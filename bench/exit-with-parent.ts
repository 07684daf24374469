/**
 * Makes a benchmark child exit when the benchmark goes away: its stdin is a pipe from the parent,
 * which closes even when the parent is SIGKILLed and cannot run its own cleanup.
 */
export function exitWithParent(): void {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
