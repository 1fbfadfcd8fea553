/**
 * A minimal stand-in for the `vscode` module so the extension's command and context code can run under plain
 * Node (unit tests). Only what `extension/ctx.ts`, `config.ts` and `commands.ts` touch; every notification,
 * progress and registered command is recorded for assertions. Message promises never resolve unless a test
 * sets `answer` (like a user who ignores the toast).
 */
import Module from 'node:module';
import * as path from 'node:path';

export interface Shown { level: 'info' | 'warning' | 'error'; message: string; items: string[] }

/** A webview panel as the dashboard uses it: what it was sent, its HTML, and a way to send it messages. */
export class FakePanel {
  readonly received: unknown[] = [];
  revealed = 0;
  disposed = false;
  private readonly onMessage: ((m: unknown) => void)[] = [];
  private readonly onDispose: (() => void)[] = [];
  readonly webview = {
    html: '',
    options: {} as Record<string, unknown>,
    cspSource: 'https://webview.test',
    asWebviewUri: (u: { fsPath: string }) => ({ toString: () => `https://webview.test${u.fsPath}` }),
    postMessage: async (m: unknown) => { this.received.push(m); return true; },
    onDidReceiveMessage: (fn: (m: unknown) => void) => { this.onMessage.push(fn); return { dispose: () => undefined }; },
  };
  constructor(readonly viewType: string) {}
  onDidDispose(fn: () => void) { this.onDispose.push(fn); return { dispose: () => undefined }; }
  reveal() { this.revealed++; }
  dispose() { this.disposed = true; for (const f of this.onDispose) f(); }
  /** As if the webview posted `m`. */
  send(m: unknown) { for (const f of this.onMessage) f(m); }
}

class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(p: string): Uri { return new Uri('file', path.resolve(p)); }
  static joinPath(u: Uri, ...parts: string[]): Uri { return new Uri(u.scheme, path.join(u.fsPath, ...parts)); }
  get path(): string { return this.fsPath; }
  toString(): string { return `${this.scheme}://${this.fsPath}`; }
}

export function makeVscodeStub(settings: Record<string, unknown> = {}) {
  const commands = new Map<string, (...a: unknown[]) => unknown>();
  const shown: Shown[] = [];
  const progress: { title: string; reports: { increment?: number; message?: string }[]; cancel: () => void; done: boolean }[] = [];
  const output: string[] = [];
  const contexts = new Map<string, unknown>();
  const serializers = new Map<string, { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }>();
  const panels: FakePanel[] = [];
  let answer: ((s: Shown) => string | undefined) | undefined;
  const show = (level: Shown['level']) => (message: string, ...items: string[]) => {
    const s = { level, message, items };
    shown.push(s);
    const a = answer?.(s);
    return a === undefined ? new Promise<string | undefined>(() => undefined) : Promise.resolve(a);
  };
  const statusBar = { text: '', tooltip: '', command: '' as unknown, backgroundColor: undefined as unknown, name: '', show() {}, hide() {}, dispose() {} };
  const vscode = {
    Uri,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { Notification: 15 },
    ViewColumn: { Active: -1 },
    ThemeColor: class { constructor(readonly id: string) {} },
    window: {
      createOutputChannel: () => ({ appendLine: (l: string) => output.push(l), append() {}, show() {}, dispose() {} }),
      createStatusBarItem: () => statusBar,
      showInformationMessage: show('info'),
      showWarningMessage: show('warning'),
      showErrorMessage: show('error'),
      withProgress: (opts: { title: string }, task: (p: unknown, t: unknown) => Promise<unknown>) => {
        let cancelFn = () => undefined as unknown;
        const rec = { title: opts.title, reports: [] as { increment?: number; message?: string }[], cancel: () => cancelFn(), done: false };
        progress.push(rec);
        const token = { onCancellationRequested: (fn: () => unknown) => { cancelFn = fn; return { dispose() {} }; } };
        return task({ report: (r: { increment?: number; message?: string }) => rec.reports.push(r) }, token).then((v) => { rec.done = true; return v; });
      },
      activeTextEditor: undefined,
      showQuickPick: async () => undefined,
      showInputBox: async () => undefined,
      showOpenDialog: async () => undefined,
      showTextDocument: async () => undefined,
      createWebviewPanel: (viewType: string) => { const p = new FakePanel(viewType); panels.push(p); return p; },
      registerWebviewPanelSerializer: (viewType: string, s: { deserializeWebviewPanel(panel: unknown, state: unknown): Promise<void> }) => {
        serializers.set(viewType, s);
        return { dispose: () => serializers.delete(viewType) };
      },
    },
    workspace: {
      workspaceFolders: undefined as unknown,
      getConfiguration: () => ({ get: (k: string) => settings[k] }),
      findFiles: async () => [],
      asRelativePath: (u: Uri) => u.fsPath,
      fs: { writeFile: async () => undefined },
      openTextDocument: async () => ({ uri: Uri.file('/untitled') }),
      onDidChangeConfiguration: () => ({ dispose() {} }),
      createFileSystemWatcher: () => ({ dispose() {} }),
    },
    commands: {
      registerCommand: (name: string, fn: (...a: unknown[]) => unknown) => { commands.set(name, fn); return { dispose: () => commands.delete(name) }; },
      executeCommand: async (name: string, ...args: unknown[]) => {
        if (name === 'setContext') { contexts.set(String(args[0]), args[1]); return undefined; }
        const fn = commands.get(name);
        if (!fn) throw new Error(`command ${name} not registered`);
        return fn(...args);
      },
    },
  };
  return {
    vscode, commands, shown, progress, output, statusBar, contexts, serializers, panels,
    /** Decide how the "user" answers notifications from now on. */
    setAnswer(fn: ((s: Shown) => string | undefined) | undefined) { answer = fn; },
  };
}

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

/**
 * Makes `require('vscode')` return `stub` (and `require(name)` return `others[name]`) until the returned
 * function is called.
 */
export function installVscodeStub(stub: unknown, others: Record<string, unknown> = {}): () => void {
  const M = Module as unknown as { _load: Loader };
  const original = M._load;
  M._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return stub;
    if (Object.prototype.hasOwnProperty.call(others, request)) return others[request];
    return original.call(this, request, parent, isMain);
  };
  return () => { M._load = original; };
}

/** A `vscode-languageclient/node` whose client starts at once and answers nothing (no server process). */
export const fakeLanguageClient = {
  TransportKind: { ipc: 1 },
  LanguageClient: class {
    async start(): Promise<void> { /* no server */ }
    async stop(): Promise<void> { /* no server */ }
    sendRequest(): Promise<never> { return Promise.reject(new Error('no config server in unit tests')); }
  },
};

/** A fake ExtensionContext over a temp folder. */
export function fakeExtensionContext(root: string, storage: string) {
  const state = new Map<string, unknown>();
  const secrets = new Map<string, string>();
  return {
    subscriptions: [] as { dispose(): unknown }[],
    extensionPath: root,
    extensionUri: Uri.file(root),
    globalStorageUri: Uri.file(storage),
    asAbsolutePath: (p: string) => path.join(root, p),
    globalState: { get: (k: string) => state.get(k), update: async (k: string, v: unknown) => { state.set(k, v); } },
    secrets: { get: async (k: string) => secrets.get(k), store: async (k: string, v: string) => { secrets.set(k, v); } },
  };
}
