/**
 * The extension ↔ dashboard webview channel (`postMessage`, structured-clone objects `{ method, params }`).
 * Follows the GitLens webview pattern: one `DashboardState` pushed whole once (on `dashboard/ready` or a run
 * switch), then small change notifications (new metric lines, job progress, run list changes…). Every message
 * is one declaration with a `dashboard/…` name, its direction in the doc comment, a TypeBox payload and an
 * `is()` guard; the webview bundle imports this module for types and guards only (TypeBox's `Value.Check`,
 * which needs no `eval` and so runs under the webview's CSP).
 *
 * Run-folder payloads are the schemas of daemon/protocol/runFolder.ts and the run feed's of daemon.ts (one
 * source of schema and type): the extension relays what the daemon's feed sends (`daemon/subscribeRuns`,
 * `daemon/subscribeRun` and their deltas), from a local daemon or a remote one alike. Face pictures arrive
 * as `data:` URIs (fetched from the daemon a page at a time, `dashboard/faceImages`), so the webview loads
 * nothing from disk and its CSP allows images from `data:` only.
 */
import { Static, TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { BudgetSchema, JobPhaseSchema } from './budget';
import { RunStateSchema, RunSummarySchema, type RunSummary } from './daemon';
import { EvaluationReportSchema } from './report';
import { MetricsLineSchema, ReconstructionIndexSchema, ReconstructionItemSchema, RunManifestSchema } from './runFolder';
import { defineNotification, NotificationType } from './message';
import { isPlainObject } from './json';

// ---------------------------------------------------------------------------------------------------------
// Run-folder payloads: the schemas of daemon/protocol/runFolder.ts

export { EvaluationReportSchema, MetricsLineSchema, ReconstructionIndexSchema, ReconstructionItemSchema, RunManifestSchema, RunSummarySchema };
export type { RunSummary };

// ---------------------------------------------------------------------------------------------------------
// Dashboard state

/** A picture as the webview may load it: a PNG or JPEG `data:` URI (the CSP allows no other image source). */
export const ImageDataUriSchema = Type.String({ pattern: '^data:image/(png|jpeg);base64,[A-Za-z0-9+/]*={0,2}$' });

/**
 * A reconstruction. Its pictures are filled in as they arrive from the daemon (`dashboard/faceImages`):
 * until then the webview draws a placeholder.
 */
export const FaceViewSchema = Type.Object({
  id: Type.String(),
  identity: Type.Optional(Type.String()),
  cosine: Type.Optional(Type.Number()),
  imageUri: Type.Optional(ImageDataUriSchema),
  /** The run has an original for this reconstruction (its picture may still be on its way). */
  hasOriginal: Type.Boolean(),
  originalUri: Type.Optional(ImageDataUriSchema),
});
export type FaceView = Static<typeof FaceViewSchema>;

export const RunJobSchema = Type.Object({
  jobId: Type.String(),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]),
  step: Type.Optional(Type.Integer({ minimum: 0 })),
  total: Type.Optional(Type.Integer({ minimum: 0 })),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Number())),
  message: Type.Optional(Type.String()),
  /** The job's governing budget, ETA and (last report) stop reason: see protocol/budget.ts. */
  budget: Type.Optional(BudgetSchema),
  etaSeconds: Type.Optional(Type.Number({ minimum: 0 })),
  stopReason: Type.Optional(Type.String()),
  /** The job's current phase (setup, attack, evaluation): step, total and budget are the phase's. */
  phase: Type.Optional(JobPhaseSchema),
  error: Type.Optional(Type.String()),
});
export type RunJob = Static<typeof RunJobSchema>;

/**
 * Everything the dashboard shows for the selected run: the daemon's RunState (daemon.ts), its faces as
 * FaceViews, the daemon job writing it, and whether its folder is gone.
 */
export const RunViewSchema = Type.Composite([
  Type.Omit(RunStateSchema, ['faces']),
  Type.Object({
    faces: Type.Array(FaceViewSchema),
    /** The daemon job writing this run, when the daemon knows one. */
    job: Type.Union([RunJobSchema, Type.Null()]),
    /** True once the folder has disappeared from disk while shown. */
    removed: Type.Boolean(),
  }),
]);
export type RunView = Static<typeof RunViewSchema>;

/** The daemon the dashboard reads: whether it is live, where, and why not. */
export const DaemonLinkSchema = Type.Object({
  connected: Type.Boolean(),
  /** ws://… of the daemon (local or remote), once one was connected or tried. */
  url: Type.Optional(Type.String()),
  /** A daemon this window did not start ("Connect to Daemon…"). */
  remote: Type.Optional(Type.Boolean()),
  /** Why the view is not live: not connected, unreachable and reconnecting, token refused… */
  problem: Type.Optional(Type.String()),
  /** Where the link is when not live: a daemon starting (or restarting) or being reached is not "not connected". */
  status: Type.Optional(Type.Union([Type.Literal('starting'), Type.Literal('connecting'), Type.Literal('reconnecting'), Type.Literal('failed'), Type.Literal('stopped')])),
});
export type DaemonLink = Static<typeof DaemonLinkSchema>;

export const DashboardStateSchema = Type.Object({
  /** The daemon's `<workspace>/runs` (a path on its machine), or null before a daemon answered. */
  runsRoot: Type.Union([Type.String(), Type.Null()]),
  /** Newest first. */
  runs: Type.Array(RunSummarySchema),
  selected: Type.Union([RunViewSchema, Type.Null()]),
  daemon: DaemonLinkSchema,
  /** A banner for the whole view (no daemon, the selected run is gone…). */
  message: Type.Optional(Type.String()),
});
export type DashboardState = Static<typeof DashboardStateSchema>;

// ---------------------------------------------------------------------------------------------------------
// Declarations

export type Direction = 'toWebview' | 'toExtension';

/** One posted object on this channel. */
export interface WebviewMessage<M extends string = string, P = unknown> { method: M; params: P }

export interface WebviewMessageType<M extends string, P extends TSchema> extends NotificationType<M, P> {
  readonly direction: Direction;
  /** True when `msg` is exactly this message with a payload matching its schema. */
  is(msg: unknown): msg is WebviewMessage<M, Static<P>>;
  /** Builds the object to post (typed, so senders cannot get the payload wrong). */
  create(params: Static<P>): WebviewMessage<M, Static<P>>;
}


export function defineWebviewMessage<M extends `dashboard/${string}`, P extends TSchema>(method: M, direction: Direction, params: P): WebviewMessageType<M, P> {
  return {
    ...defineNotification(method, params),
    direction,
    is(msg: unknown): msg is WebviewMessage<M, Static<P>> {
      return isPlainObject(msg) && msg.method === method && Value.Check(params, msg.params);
    },
    create(p: Static<P>): WebviewMessage<M, Static<P>> { return { method, params: p }; },
  };
}

/** webview → extension: the app has loaded (fresh or restored); answer with `dashboard/state`. `run` is the run it last showed. */
export const ReadyMessage = defineWebviewMessage('dashboard/ready', 'toExtension',
  Type.Object({ run: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: false }));

/** webview → extension: show another run (by folder name under runs/); answered with a whole `dashboard/state`. */
export const SelectRunMessage = defineWebviewMessage('dashboard/selectRun', 'toExtension',
  Type.Object({ run: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }));

/** webview → extension: open one face picture (reconstruction or original) of the shown run in an editor tab. */
export const OpenImageMessage = defineWebviewMessage('dashboard/openImage', 'toExtension',
  Type.Object({
    run: Type.String({ minLength: 1, maxLength: 512 }),
    face: Type.String({ minLength: 1, maxLength: 512 }),
    which: Type.Union([Type.Literal('image'), Type.Literal('original')]),
  }, { additionalProperties: false }));

/** webview → extension: ask the daemon for everything again and push a whole `dashboard/state`. */
export const RefreshMessage = defineWebviewMessage('dashboard/refresh', 'toExtension',
  Type.Object({}, { additionalProperties: false }));

/** webview → extension: the banner's button when the daemon is gone: connect again (Connect to Daemon… or Start Daemon). */
export const ReconnectMessage = defineWebviewMessage('dashboard/reconnect', 'toExtension',
  Type.Object({}, { additionalProperties: false }));

/** extension → webview: the whole state; replaces whatever the webview had. */
export const StateMessage = defineWebviewMessage('dashboard/state', 'toWebview', DashboardStateSchema);

/** extension → webview: lines appended to the selected run's metrics.jsonl since the last push. */
export const MetricsMessage = defineWebviewMessage('dashboard/metrics', 'toWebview',
  Type.Object({ run: Type.String(), lines: Type.Array(MetricsLineSchema), problems: Type.Optional(Type.Array(Type.String())) }));

/** extension → webview: the selected run's run.json changed (state, progress). */
export const ManifestMessage = defineWebviewMessage('dashboard/manifest', 'toWebview',
  Type.Object({ run: Type.String(), manifest: Type.Union([RunManifestSchema, Type.Null()]) }));

/** extension → webview: the selected run's reconstructions/index.json changed. */
export const FacesMessage = defineWebviewMessage('dashboard/faces', 'toWebview',
  Type.Object({ run: Type.String(), faces: Type.Array(FaceViewSchema) }));

/** extension → webview: pictures of the selected run's faces that arrived from the daemon (one page). */
export const FaceImagesMessage = defineWebviewMessage('dashboard/faceImages', 'toWebview',
  Type.Object({
    run: Type.String(),
    images: Type.Array(Type.Object({ id: Type.String(), imageUri: Type.Optional(ImageDataUriSchema), originalUri: Type.Optional(ImageDataUriSchema) })),
  }));

/** extension → webview: the selected run's evaluation/report.json appeared or changed. */
export const EvaluationMessage = defineWebviewMessage('dashboard/evaluation', 'toWebview',
  Type.Object({ run: Type.String(), evaluation: Type.Union([EvaluationReportSchema, Type.Null()]), problem: Type.Optional(Type.String()) }));

/** extension → webview: progress or state of the daemon job writing the selected run. */
export const JobMessage = defineWebviewMessage('dashboard/job', 'toWebview',
  Type.Object({ run: Type.String(), job: Type.Union([RunJobSchema, Type.Null()]) }));

/** extension → webview: the list of run folders changed (added, removed, state changed). */
export const RunsMessage = defineWebviewMessage('dashboard/runs', 'toWebview',
  Type.Object({ runs: Type.Array(RunSummarySchema) }));

/** extension → webview: the selected run's folder was deleted while shown. */
export const RunRemovedMessage = defineWebviewMessage('dashboard/runRemoved', 'toWebview',
  Type.Object({ run: Type.String(), message: Type.String() }));

/** extension → webview: the daemon connection came up, went down or is being re-established. */
export const DaemonMessage = defineWebviewMessage('dashboard/daemon', 'toWebview', DaemonLinkSchema);

export const TO_EXTENSION = [ReadyMessage, SelectRunMessage, OpenImageMessage, RefreshMessage, ReconnectMessage] as const;
export const TO_WEBVIEW = [StateMessage, MetricsMessage, ManifestMessage, FacesMessage, FaceImagesMessage, EvaluationMessage, JobMessage, RunsMessage, RunRemovedMessage, DaemonMessage] as const;

export type ToExtensionMessage = ReturnType<typeof TO_EXTENSION[number]['create']>;
export type ToWebviewMessage = ReturnType<typeof TO_WEBVIEW[number]['create']>;
