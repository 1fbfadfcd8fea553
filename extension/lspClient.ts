/**
 * Starts the config language server (`out/daemon/lsp/server.js`, node IPC) for encoder and run configs.
 * The schema itself is bound by package.json `jsonValidation`; the server adds the checks a schema cannot.
 */
import * as vscode from 'vscode';
import type { DatasetSettings } from '../daemon/protocol/configServer';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';

/** The config files the server watches (user workspaces and the shipped folders). */
export const CONFIG_PATTERNS = ['**/*.faceinv-encoder.json', '**/*.faceinv-run.json', '**/*.faceinv-audit.json', '**/*.faceinv-protect.json', '**/models/encoders/*.json', '**/models/experiments/*.json'];

export async function startConfigServer(ext: vscode.ExtensionContext, output: vscode.OutputChannel, dataset: DatasetSettings): Promise<LanguageClient> {
  const module = ext.asAbsolutePath('out/daemon/lsp/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6019'] } },
  };
  // Model and encoder files change what configs resolve to; a finished run's model/meta.json, what a
  // white-box generator can be.
  const watchers = ['**/*.{onnx,faceinv-encoder.json}', '**/models/encoders/*.json', '**/model/meta.json']
    .map((glob) => vscode.workspace.createFileSystemWatcher(glob));
  ext.subscriptions.push(...watchers);
  const clientOptions: LanguageClientOptions = {
    documentSelector: CONFIG_PATTERNS.map((pattern) => ({ scheme: 'file', pattern })),
    synchronize: { fileEvents: watchers },
    // The dataset settings the editor's daemon runs with: the checks look for LFW and confine paths as it does.
    initializationOptions: { repoRoot: ext.extensionPath, dataset },
    outputChannel: output,
  };
  const client = new LanguageClient('faceInversionConfig', 'Face Inversion config checks', serverOptions, clientOptions);
  await client.start();
  return client;
}
