// Gate for tests that need root or Debian tools. Locally such a test skips with a printed
// reason; with KUBEWIRE_KERNEL_TESTS=1 (set by .ci/run) a missing tool or missing root fails.
import { execFileSync } from 'node:child_process';

export const KERNEL_TESTS_REQUIRED = process.env.KUBEWIRE_KERNEL_TESTS === '1';

export function haveTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Answers null when every need is met, else the reason to skip. Throws instead when
 * KUBEWIRE_KERNEL_TESTS=1, so CI cannot pass by skipping.
 */
export function missing(needs: { tools?: string[]; root?: boolean }): string | null {
  const lacks: string[] = [];
  if (needs.root && !isRoot()) lacks.push('root');
  for (const t of needs.tools ?? []) if (!haveTool(t)) lacks.push(t);
  if (lacks.length === 0) return null;
  const reason = `needs ${lacks.join(', ')}`;
  if (KERNEL_TESTS_REQUIRED) throw new Error(`KUBEWIRE_KERNEL_TESTS=1 but this test ${reason}`);
  console.warn(`skipping: ${reason}`);
  return reason;
}
