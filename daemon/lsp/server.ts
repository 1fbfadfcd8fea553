/**
 * The config language server (LSP over node IPC, started by the extension through vscode-languageclient).
 * It publishes the diagnostics of `checks.ts` for encoder/run config files, answers hovers on the
 * encoder field, and offers quick fixes for a white-box generator that cannot serve (the finished black-box
 * runs of the workspace). Schema problems are its own errors too (`checks.ts`): VS Code's `jsonValidation` follows a
 * file's `$schema`, which a copied file breaks, and still gives completion and hovers. Crash guards follow
 * vscode-eslint's server: stray exceptions are logged to the client, never fatal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CodeAction, CodeActionKind, createConnection, Diagnostic, DiagnosticSeverity, InitializeResult, ProposedFeatures, TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { CheckEnv, checkConfigText, checkDatasetFolder, configKindOf, ConfigDiagnostic, generatorFixes, hoverText, listEncoders } from './checks';
import { DatasetSettingsNotification, DatasetStatusRequest, ListEncodersRequest, type DatasetStatusParams, type DatasetStatusResult, type ListEncodersResult } from '../protocol/configServer';
import { lfwCandidates } from '../config/datasetPath';
import { positionAt } from './jsonTree';
import { INSTALL_ROOT } from '../io/installation';

/** Installation root (this file runs from `out/daemon/lsp/`). */
/** Milliseconds of quiet typing before a document is re-checked. */
const CHECK_DELAY_MS = 200;

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const env: CheckEnv = { repoRoot: INSTALL_ROOT, workspaceDirs: [] };

process.on('uncaughtException', (err) => connection.console.error(`faceinv config server: uncaught exception (continuing): ${err.stack ?? err}`));
process.on('unhandledRejection', (err) => connection.console.error(`faceinv config server: unhandled rejection (continuing): ${err instanceof Error ? err.stack : err}`));

function uriToPath(uri: string): string | undefined {
  try { return uri.startsWith('file:') ? fileURLToPath(uri) : undefined; } catch { return undefined; }
}

connection.onInitialize((params): InitializeResult => {
  const folders = params.workspaceFolders?.map((f) => uriToPath(f.uri)).filter((p): p is string => !!p) ?? [];
  const rootPath = params.rootUri ? uriToPath(params.rootUri) : undefined;
  env.workspaceDirs = folders.length ? folders : rootPath ? [rootPath] : [];
  const opts = params.initializationOptions as { repoRoot?: unknown; dataset?: unknown } | undefined;
  if (typeof opts?.repoRoot === 'string') env.repoRoot = opts.repoRoot;
  if (opts?.dataset !== undefined) env.dataset = DatasetSettingsNotification.from(opts.dataset);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental, hoverProvider: true,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
    },
  };
});

const SEVERITY: Record<ConfigDiagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error, warning: DiagnosticSeverity.Warning, information: DiagnosticSeverity.Information,
};

const timers = new Map<string, NodeJS.Timeout>();
/** Version each check started from, so a slow check never overwrites a newer one's diagnostics. */
const checking = new Map<string, number>();

async function check(doc: TextDocument): Promise<void> {
  const file = uriToPath(doc.uri) ?? doc.uri;
  if (!configKindOf(file)) return;
  const version = doc.version;
  checking.set(doc.uri, version);
  const text = doc.getText();
  let diags: ConfigDiagnostic[];
  try {
    diags = await checkConfigText(file, text, env);
  } catch (err) {
    diags = [{ start: 0, end: 0, severity: 'error', code: 'config-semantic', message: `faceinv config checks failed: ${(err as Error).message}` }];
  }
  if (checking.get(doc.uri) !== version) return;
  const diagnostics: Diagnostic[] = diags.map((d) => ({
    range: { start: positionAt(text, d.start), end: positionAt(text, d.end) },
    severity: SEVERITY[d.severity],
    code: d.code,
    source: 'faceinv',
    message: d.message,
  }));
  void connection.sendDiagnostics({ uri: doc.uri, version, diagnostics });
}

function schedule(doc: TextDocument): void {
  clearTimeout(timers.get(doc.uri));
  timers.set(doc.uri, setTimeout(() => { timers.delete(doc.uri); void check(doc); }, CHECK_DELAY_MS));
}

documents.onDidOpen((e) => void check(e.document));
documents.onDidChangeContent((e) => schedule(e.document));
documents.onDidSave((e) => void check(e.document));
documents.onDidClose((e) => {
  clearTimeout(timers.get(e.document.uri));
  checking.delete(e.document.uri);
  void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});
// A model or encoder file changed on disk: other configs may now resolve differently.
connection.onDidChangeWatchedFiles(() => { for (const d of documents.all()) schedule(d); });

connection.onHover(async (params) => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return null;
  const file = uriToPath(doc.uri) ?? doc.uri;
  try {
    const md = await hoverText(file, doc.getText(), doc.offsetAt(params.position), env);
    return md ? { contents: { kind: 'markdown', value: md } } : null;
  } catch (err) {
    connection.console.error(`faceinv config server: hover failed: ${(err as Error).message}`);
    return null;
  }
});

/** Quick fixes for the generator diagnostics: each finished black-box run that fits, as `faceModel.run`. */
connection.onCodeAction((params): CodeAction[] => {
  const doc = documents.get(params.textDocument.uri);
  if (!doc) return [];
  const diags = params.context.diagnostics.filter((d) => d.source === 'faceinv' && typeof d.code === 'string' && d.code.startsWith('generator-'));
  if (!diags.length) return [];
  const file = uriToPath(doc.uri) ?? doc.uri;
  try {
    const text = doc.getText();
    return generatorFixes(file, text, env).map((f, k): CodeAction => ({
      title: f.title,
      kind: CodeActionKind.QuickFix,
      diagnostics: diags,
      isPreferred: k === 0,
      edit: { changes: { [doc.uri]: [{ range: { start: positionAt(text, f.start), end: positionAt(text, f.end) }, newText: f.newText }] } },
    }));
  } catch (err) {
    connection.console.error(`faceinv config server: code actions failed: ${(err as Error).message}`);
    return [];
  }
});

// The editor's dataset settings changed: its daemon looks for LFW and confines paths differently now.
connection.onNotification(DatasetSettingsNotification.method, (p: unknown) => {
  env.dataset = DatasetSettingsNotification.from(p);
  for (const d of documents.all()) schedule(d);
});

/** Where LFW is with the editor's settings, and whether a folder the user picks can serve as a dataset. */
connection.onRequest(DatasetStatusRequest.method, (p: DatasetStatusParams | undefined): DatasetStatusResult => {
  const base = env.workspaceDirs[0] ?? process.cwd();
  const looked = [...(env.dataset?.lfw ? [path.resolve(base, env.dataset.lfw)] : []), ...lfwCandidates()];
  const lfw = looked.find((c) => fs.existsSync(c));
  const folder = typeof p?.folder === 'string' && p.folder ? path.resolve(base, p.folder) : undefined;
  const problem = folder ? checkDatasetFolder(folder, base, env)?.message : undefined;
  return { looked, ...(lfw ? { lfw } : {}), ...(problem ? { folderProblem: problem } : {}) };
});

/** The editor's encoder pickers: the registry's encoders for the open workspace. */
connection.onRequest(ListEncodersRequest.method, (): ListEncodersResult => listEncoders(env));

documents.listen(connection);
connection.listen();
connection.console.info(`faceinv config server ${pathToFileURL(__filename).href} ready (repo ${INSTALL_ROOT})`);
