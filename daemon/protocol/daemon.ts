/**
 * The daemon ↔ client channel (WebSocket, JSON text frames). Clients are the VS Code extension, the CLI and
 * tests. Every message is declared once here with its direction; the extension relays a subset to the
 * dashboard webview (see `webview.ts`).
 *
 * Flow: a client authenticates at the WebSocket upgrade (token), sends requests with ids, gets one response
 * per request; after `daemon/subscribe` it gets the full state of the jobs it asked for once, then small
 * `daemon/jobProgress` / `daemon/jobState` / `daemon/log` notifications.
 *
 * Run folders (the dashboard's feed, so that a dashboard works the same against a local daemon and one on a
 * GPU box): `daemon/subscribeRuns` answers with the whole run history under the daemon's runs root, then
 * `daemon/runsChanged` deltas; `daemon/subscribeRun` answers with one run's whole state (manifest, every
 * metric line, reconstructions, evaluation report), then `daemon/runMetrics` (appended lines),
 * `daemon/runManifest`, `daemon/runFaces`, `daemon/runEvaluation`, `daemon/runRemoved`, and `daemon/runState`
 * when the run must be taken whole again (metrics.jsonl rewritten by a resume, the folder back). Face images
 * travel as bytes (`daemon/runImages`, a page at a time): a client never reads the daemon's disk. Every path
 * the daemon serves stays inside its runs root (symlinks out of it are refused).
 */
import { Static, Type } from '@sinclair/typebox';
import { BudgetSchema, JobPhaseSchema } from './budget';
import { defineNotification, defineRequest } from './message';
import { EvaluationReportSchema } from './report';
import { MetricsLineSchema, RUN_FILES, RunKindSchema, RunManifestSchema } from './runFolder';

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
  /** The job's current phase (a run: setup, attack, evaluation); step / total and budget are the phase's. */
  phase: Type.Optional(JobPhaseSchema),
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

// ---------------------------------------------------------------------------------------------------------
// Run folders: the dashboard's feed

/** A run folder's name under the daemon's runs root: one path segment, never `.` or `..`. */
export const RunNameSchema = Type.String({ minLength: 1, maxLength: 255, pattern: '^(?!\\.\\.?$)[^/\\\\\\u0000]+$' });

/** One row of the run history: a folder under the daemon's runs root (`<workspace>/runs`). */
const RateOrNull = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);

/** A run's headline figures, from its evaluation report (daemon/protocol/report.ts `runHeadline`). */
export const RunHeadlineSchema = Type.Object({
  method: Type.String(),
  queriesPerTarget: Type.Optional(Type.Number({ minimum: 0 })),
  probes: Type.Integer({ minimum: 0 }),
  /** Type I at FMR 1e-4 and type II (per pair) at 1e-3, `redetect`, by the attacked encoder. */
  typeI1e4: RateOrNull,
  typeII1e3: RateOrNull,
  /** Type II at 1e-3 averaged per identity (the headline form; absent for older reports). */
  typeIIPerIdentity1e3: Type.Optional(RateOrNull),
  /** The first transfer encoder's (one the attack never used) type I at 1e-3 and 1e-4, `redetect`. */
  transfer: Type.Optional(Type.Object({ encoderId: Type.String(), typeI1e3: RateOrNull, typeI1e4: Type.Optional(RateOrNull) })),
  /** The nearest-training-face baseline's type I at 1e-4, for scale. */
  nearestFace1e4: RateOrNull,
});
export type RunHeadline = Static<typeof RunHeadlineSchema>;

export const RunSummarySchema = Type.Object({
  name: Type.String(),
  /** Absolute path of the run folder on the daemon's machine (shown, never opened by the client). */
  dir: Type.String(),
  kind: Type.Optional(RunKindSchema),
  encoderId: Type.Optional(Type.String()),
  /** Manifest state; 'unknown' when run.json is missing or unreadable. */
  state: Type.Union([Type.Literal('running'), Type.Literal('finished'), Type.Literal('failed'), Type.Literal('interrupted'), Type.Literal('unknown')]),
  /** ISO time used for newest-first ordering (manifest createdAt, else the folder's mtime). */
  createdAt: Type.String(),
  hasReport: Type.Boolean(),
  /** The evaluated attack in a few figures (redetect, attacked encoder), so the history compares methods. */
  headline: Type.Optional(RunHeadlineSchema),
  /** Why the manifest could not be read, when it could not. */
  problem: Type.Optional(Type.String()),
});
export type RunSummary = Static<typeof RunSummarySchema>;

/** The history order: newest first, ties by name. One comparator for the daemon's list and a client's deltas. */
export function compareRuns(a: Pick<RunSummary, 'name' | 'createdAt'>, b: Pick<RunSummary, 'name' | 'createdAt'>): number {
  return a.createdAt === b.createdAt ? a.name.localeCompare(b.name) : a.createdAt < b.createdAt ? 1 : -1;
}

/**
 * A reconstruction as the daemon serves it. Its pictures come through `daemon/runImages`; a `…Version`
 * changes whenever that file does (size and modification time), so a client caches by (run, id, version).
 */
export const RunFaceSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  identity: Type.Optional(Type.String()),
  /** The attack's own final cosine to its target, before any evaluation. */
  cosine: Type.Optional(Type.Number()),
  /** The reconstruction's file, relative to the run's reconstructions folder. */
  image: Type.String(),
  imageVersion: Type.String(),
  /** The aligned original's file, when the index names one that stays inside the folder. */
  original: Type.Optional(Type.String()),
  originalVersion: Type.Optional(Type.String()),
});
export type RunFace = Static<typeof RunFaceSchema>;

/** PNG or JPEG by their magic bytes; anything else is neither served nor shown as a picture (daemon and extension alike). */
export function pictureType(bytes: Uint8Array): 'image/png' | 'image/jpeg' | undefined {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[4] === 0x0d && bytes[5] === 0x0a && bytes[6] === 0x1a && bytes[7] === 0x0a) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  return undefined;
}

/**
 * A face picture's file on the daemon's machine: `rel` (a RunFace's `image` or `original`) inside the run's
 * reconstructions folder, joined with the separator `runDir` uses. For a client on the daemon's machine only
 * (it opens the file itself); others fetch the bytes with `daemon/runImages`.
 */
export function runPictureFile(runDir: string, rel: string): string {
  const sep = runDir.includes('\\') && !runDir.includes('/') ? '\\' : '/';
  return [runDir.replace(/[\\/]+$/, ''), RUN_FILES.reconstructions, rel].join(sep);
}

/** Everything a client shows of one run, read whole. */
export const RunStateSchema = Type.Object({
  name: Type.String(),
  /** The run folder on the daemon's machine. */
  dir: Type.String(),
  manifest: Type.Union([RunManifestSchema, Type.Null()]),
  /** Every line of metrics.jsonl so far, in file order. */
  metrics: Type.Array(MetricsLineSchema),
  faces: Type.Array(RunFaceSchema),
  evaluation: Type.Union([EvaluationReportSchema, Type.Null()]),
  /** Why evaluation/report.json exists but cannot be shown (older version, bad JSON…), naming what is missing. */
  evaluationProblem: Type.Optional(Type.String()),
  /** Readable problems with the run's files (bad JSON, bad lines, paths escaping the folder). */
  problems: Type.Array(Type.String()),
});
export type RunState = Static<typeof RunStateSchema>;

const RunParams = Type.Object({ run: RunNameSchema }, { additionalProperties: false });
const Ok = Type.Object({ ok: Type.Boolean() });

/** The run history: newest first, from `<workspace>/runs` and every other runs folder the workspace's run configs name. */
const RunsListSchema = Type.Object({
  /** `<workspace>/runs` on the daemon's machine. */
  runsRoot: Type.String(),
  /** Every folder whose runs are listed, runsRoot first (absent from older daemons: runsRoot only). */
  runsRoots: Type.Optional(Type.Array(Type.String())),
  runs: Type.Array(RunSummarySchema),
});

/**
 * client → daemon: the whole run history under the daemon's runs root (newest first), then `daemon/runsChanged`
 * deltas on this connection until `daemon/unsubscribeRuns` or the connection closes.
 */
export const SubscribeRunsRequest = defineRequest('daemon/subscribeRuns', Type.Object({}, { additionalProperties: false }),
  RunsListSchema);

/**
 * client → daemon: the run history under the daemon's runs root (newest first) once, without following it:
 * what a picker (Evaluate, Invert with a run's decoder) offers. `dir` is a path on the daemon's machine.
 */
export const ListRunsRequest = defineRequest('daemon/listRuns', Type.Object({}, { additionalProperties: false }),
  RunsListSchema);

/** client → daemon: no more `daemon/runsChanged` on this connection. */
export const UnsubscribeRunsRequest = defineRequest('daemon/unsubscribeRuns', Type.Object({}, { additionalProperties: false }), Ok);

/**
 * client → daemon: one run's whole state, then its deltas (`daemon/runMetrics`, `daemon/runManifest`,
 * `daemon/runFaces`, `daemon/runEvaluation`, `daemon/runRemoved`, `daemon/runState`) on this connection until
 * `daemon/unsubscribeRun`. NotFound for a name that is not a folder of the runs root; PathNotAllowed for one
 * that leads out of it (a symlink).
 */
export const SubscribeRunRequest = defineRequest('daemon/subscribeRun', RunParams, Type.Object({ run: RunStateSchema }));

/** client → daemon: no more deltas of this run on this connection. */
export const UnsubscribeRunRequest = defineRequest('daemon/unsubscribeRun', RunParams, Ok);

/** Most pictures one `daemon/runImages` asks for. */
export const MAX_IMAGES_PER_REQUEST = 32;

/**
 * client → daemon: the bytes (base64) of some of a run's face pictures, by reconstruction id. Each answer
 * item has `data` and `type`, or a `problem` (no such id, file missing, not a PNG/JPEG, too large, outside
 * the run). Items left out of the answer (its size limit was reached) are asked for again.
 */
export const RunImagesRequest = defineRequest('daemon/runImages',
  Type.Object({
    run: RunNameSchema,
    faces: Type.Array(Type.Object({
      id: Type.String({ minLength: 1, maxLength: 512 }),
      which: Type.Union([Type.Literal('image'), Type.Literal('original')]),
    }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_IMAGES_PER_REQUEST }),
  }, { additionalProperties: false }),
  Type.Object({
    images: Type.Array(Type.Object({
      id: Type.String(),
      which: Type.Union([Type.Literal('image'), Type.Literal('original')]),
      /** The file's version (as in RunFace) when it was read. */
      version: Type.Optional(Type.String()),
      type: Type.Optional(Type.Union([Type.Literal('image/png'), Type.Literal('image/jpeg')])),
      /** base64 of the file. */
      data: Type.Optional(Type.String()),
      problem: Type.Optional(Type.String()),
    })),
  }));

/** daemon → clients subscribed to runs: rows added or changed (`changed`), folders gone (`removed`, by name). */
export const RunsChangedNotification = defineNotification('daemon/runsChanged',
  Type.Object({ changed: Type.Array(RunSummarySchema), removed: Type.Array(Type.String()) }));

/** daemon → clients subscribed to the run: lines appended to its metrics.jsonl since the last report. */
export const RunMetricsNotification = defineNotification('daemon/runMetrics',
  Type.Object({ run: Type.String(), lines: Type.Array(MetricsLineSchema), problems: Type.Optional(Type.Array(Type.String())) }));

/** daemon → clients subscribed to the run: its run.json changed (state, progress). */
export const RunManifestNotification = defineNotification('daemon/runManifest',
  Type.Object({ run: Type.String(), manifest: Type.Union([RunManifestSchema, Type.Null()]), problem: Type.Optional(Type.String()) }));

/** daemon → clients subscribed to the run: its reconstructions/index.json changed (or a picture in it). */
export const RunFacesNotification = defineNotification('daemon/runFaces',
  Type.Object({ run: Type.String(), faces: Type.Array(RunFaceSchema), problems: Type.Optional(Type.Array(Type.String())) }));

/** daemon → clients subscribed to the run: its evaluation/report.json appeared or changed. */
export const RunEvaluationNotification = defineNotification('daemon/runEvaluation',
  Type.Object({ run: Type.String(), evaluation: Type.Union([EvaluationReportSchema, Type.Null()]), problem: Type.Optional(Type.String()) }));

/** daemon → clients subscribed to the run: its folder was deleted (the subscription stays: it may come back). */
export const RunRemovedNotification = defineNotification('daemon/runRemoved', Type.Object({ run: Type.String() }));

/**
 * daemon → clients subscribed to the run: take this run whole again, replacing what was sent (metrics.jsonl
 * was rewritten by a resume, or the folder came back after `daemon/runRemoved`).
 */
export const RunStateNotification = defineNotification('daemon/runState', Type.Object({ run: RunStateSchema }));

/** Every request the daemon answers, for dispatch tables and the fuzz test. */
export const DAEMON_REQUESTS = [
  StatusRequest, SubmitJobRequest, CancelJobRequest, ListJobsRequest, GetJobRequest, SubscribeRequest,
  UnsubscribeRequest, ListJobKindsRequest, ShutdownRequest,
  ListRunsRequest, SubscribeRunsRequest, UnsubscribeRunsRequest, SubscribeRunRequest, UnsubscribeRunRequest, RunImagesRequest,
] as const;

/** Every notification the daemon sends. */
export const DAEMON_NOTIFICATIONS = [
  JobProgressNotification, JobStateNotification, LogNotification,
  RunsChangedNotification, RunMetricsNotification, RunManifestNotification, RunFacesNotification, RunEvaluationNotification,
  RunRemovedNotification, RunStateNotification,
] as const;

