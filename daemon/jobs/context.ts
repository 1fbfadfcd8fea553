/**
 * The context a job runs in is the attack context (daemon/runs/attackContext.ts): the daemon and the headless CLI
 * each provide one, so job code is the same in both.
 */
export type { AttackContext as JobContext } from '../runs/attackContext';
export { JobCancelledError, throwIfCancelled, yieldToEventLoop } from '../runs/attackContext';
