/**
 * The daemon ↔ client channel (WebSocket, JSON text frames). Clients are the VS Code extension, the CLI and
 * tests. Every message is declared once here with its direction; the extension relays a subset to the
 * dashboard webview (see `webview.ts`).
 *
 * Flow: a client authenticates at the WebSocket upgrade (token), sends requests with ids, gets one response
 * per request; after `daemon/subscribe` it gets the full state of the jobs it asked for once, then small
 * `daemon/jobProgress` / `daemon/jobState` / `daemon/log` notifications.
 */
import { Static, Type } from '@sinclair/typebox';
import { BudgetSchema } from './budget';
import { defineNotification, defineRequest } from './message';

export const PROTOCOL_VERSION = 1;

/** Header carrying the per-start token on the WebSocket upgrade (`Authorization: Bearer <token>` also works). */
export const TOKEN_HEADER = 'x-faceinv-token';

export const JobStateName = Type.Union([
  Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled'),
]);
export type JobStateName = Static<typeof JobStateName>;

/**
 * One progress report. `step` / `total` are the job's raw step counters; when the job runs under a budget
 * (time, epochs, steps, queries: see `budget.ts`), `budget` is what progress, ETA and the finished state
 * are measured in, and the job's last report says why it stopped (`stopReason`).
 */
export const JobProgressSchema = Type.Object({
  step: Type.Integer({ minimum: 0 }),
  total: Type.Integer({ minimum: 0 }),
  /** Named scalar metrics of this step (loss, img/s, cosine…); finite numbers only. */
  metrics: Type.Record(Type.String(), Type.Number()),
  message: Type.Optional(Type.String()),
  /** The governing budget and how much of it is used. */
  budget: Type.Optional(BudgetSchema),
  /** Seconds until the budget runs out at the rate so far. */
  etaSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  /** Only on the last report of a job that stopped: why, e.g. "budget of 5 min reached". */
  stopReason: Type.Optional(Type.String()),
});
export type JobProgress = Static<typeof JobProgressSchema>;

export const JobInfoSchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  label: Type.String(),
  state: JobStateName,
  createdAt: Type.String(),
  startedAt: Type.Optional(Type.String()),
  endedAt: Type.Optional(Type.String()),
  progress: Type.Optional(JobProgressSchema),
  /** Folder of the run this job writes (training, inversion, evaluation), when it has one. */
  runDir: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
  result: Type.Optional(Type.Unknown()),
});
export type JobInfo = Static<typeof JobInfoSchema>;

export const StatusResultSchema = Type.Object({
  protocol: Type.Integer(),
  pid: Type.Integer(),
  uptimeSeconds: Type.Number(),
  backend: Type.String(),
  backendReason: Type.String(),
  threads: Type.Integer(),
  versions: Type.Record(Type.String(), Type.String()),
  workspace: Type.String(),
  jobs: Type.Array(JobInfoSchema),
  memory: Type.Object({ rssBytes: Type.Number(), numTensors: Type.Integer(), numBytes: Type.Number() }),
});
export type StatusResult = Static<typeof StatusResultSchema>;

const JobIdParams = Type.Object({ jobId: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

/** client → daemon: backend, threads, versions, jobs, memory. */
export const StatusRequest = defineRequest('daemon/status', Type.Object({}, { additionalProperties: false }), StatusResultSchema);

/** client → daemon: queue a compute job; `params` are validated by the job kind's own schema. */
export const SubmitJobRequest = defineRequest('daemon/submitJob',
  Type.Object({
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    params: Type.Unknown(),
    label: Type.Optional(Type.String({ maxLength: 200 })),
  }, { additionalProperties: false }),
  Type.Object({ job: JobInfoSchema }));

/** client → daemon: cancel a queued or running job (running jobs stop at their next step boundary). */
export const CancelJobRequest = defineRequest('daemon/cancelJob', JobIdParams, Type.Object({ job: JobInfoSchema }));

/** client → daemon: all jobs known to this daemon, newest last. */
export const ListJobsRequest = defineRequest('daemon/listJobs', Type.Object({}, { additionalProperties: false }),
  Type.Object({ jobs: Type.Array(JobInfoSchema) }));

/** client → daemon: one job's state, with its whole progress history so far. */
export const GetJobRequest = defineRequest('daemon/getJob', JobIdParams,
  Type.Object({ job: JobInfoSchema, history: Type.Array(JobProgressSchema) }));

/**
 * client → daemon: receive notifications for one job (`jobId`) or for all jobs (omitted). Answers with the
 * full current state; notifications that follow are deltas.
 */
export const SubscribeRequest = defineRequest('daemon/subscribe',
  Type.Object({ jobId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
  Type.Object({ jobs: Type.Array(JobInfoSchema), history: Type.Record(Type.String(), Type.Array(JobProgressSchema)) }));

export const UnsubscribeRequest = defineRequest('daemon/unsubscribe',
  Type.Object({ jobId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
  Type.Object({ ok: Type.Boolean() }));

/** client → daemon: job kinds this daemon runs, with their parameter schemas (for editors and tests). */
export const ListJobKindsRequest = defineRequest('daemon/listJobKinds', Type.Object({}, { additionalProperties: false }),
  Type.Object({ kinds: Type.Array(Type.Object({ kind: Type.String(), summary: Type.String(), paramsSchema: Type.Unknown() })) }));

/** client → daemon: stop after answering; running jobs are cancelled (their checkpoints stay). */
export const ShutdownRequest = defineRequest('daemon/shutdown', Type.Object({}, { additionalProperties: false }), Type.Object({ ok: Type.Boolean() }));

/** daemon → subscribed clients: one step of a running job. */
export const JobProgressNotification = defineNotification('daemon/jobProgress',
  Type.Object({ jobId: Type.String(), progress: JobProgressSchema }));

/** daemon → subscribed clients: a job changed state (queued → running → succeeded | failed | cancelled). */
export const JobStateNotification = defineNotification('daemon/jobState', Type.Object({ job: JobInfoSchema }));

export const LogLevel = Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')]);
export type LogLevel = Static<typeof LogLevel>;

/** daemon → every client: a log line (daemon-wide or from a job). */
export const LogNotification = defineNotification('daemon/log',
  Type.Object({ level: LogLevel, message: Type.String(), time: Type.String(), jobId: Type.Optional(Type.String()) }));

/** Every request the daemon answers, for dispatch tables and the fuzz test. */
export const DAEMON_REQUESTS = [
  StatusRequest, SubmitJobRequest, CancelJobRequest, ListJobsRequest, GetJobRequest, SubscribeRequest,
  UnsubscribeRequest, ListJobKindsRequest, ShutdownRequest,
] as const;

