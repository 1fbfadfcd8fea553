/**
 * The context a job runs in is the attack context (daemon/runs/context.ts): the daemon and the headless CLI
 * each provide one, so job code is the same in both.
 */
export type { AttackContext as JobContext } from '../runs/context';
export { JobCancelledError, throwIfCancelled, yieldToEventLoop } from '../runs/context';
