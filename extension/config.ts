/**
 * Typed settings (`faceInversion.*`, declared in package.json "contributes.configuration"). Untrusted values
 * are normalised here with defaults, so the rest of the extension never reads raw configuration.
 */
import * as vscode from 'vscode';

export const SECTION = 'faceInversion';

/** Settings that only take effect when the local daemon is restarted. */
export const REQUIRES_DAEMON_RESTART = ['daemon.nodePath', 'daemon.backend', 'daemon.threads', 'daemon.extraArgs', 'dataset.lfw', 'dataset.dataRoots'] as const;

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration { return vscode.workspace.getConfiguration(SECTION); }

  /** Node.js 20 that runs the daemon, as set; '' → the editor's own runtime, else `node` on PATH (daemonRuntime.ts). */
  get nodePath(): string {
    const v = this.cfg.get<unknown>('daemon.nodePath');
    return typeof v === 'string' ? v.trim() : '';
  }

  /** Engine backend for the daemon: auto | wasm | cpu | webgpu | tensorflow (validated by the daemon). */
  get backend(): string {
    const v = this.cfg.get<unknown>('daemon.backend');
    return typeof v === 'string' && /^[a-z-]+$/.test(v) ? v : 'auto';
  }

  /** Compute threads (0 = the daemon's default). */
  get threads(): number {
    const v = this.cfg.get<unknown>('daemon.threads');
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 256 ? v : 0;
  }

  /** Extra `faceinv daemon` arguments, e.g. ["--data-root", "/data/lfw"]. */
  get extraArgs(): string[] {
    const v = this.cfg.get<unknown>('daemon.extraArgs');
    return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
  }

  /** The LFW folder the user chose (the daemon's FACEINV_LFW and a data root); '' when none. */
  get lfw(): string {
    const v = this.cfg.get<unknown>('dataset.lfw');
    return typeof v === 'string' ? v.trim() : '';
  }

  /** More folders the local daemon may read (`--data-root` each). */
  get dataRoots(): string[] {
    const v = this.cfg.get<unknown>('dataset.dataRoots');
    return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string' && a.trim().length > 0).map((a) => a.trim()) : [];
  }

  /** Start the local daemon when the extension activates. */
  get autoStart(): boolean {
    return this.cfg.get<unknown>('daemon.autoStart') === true;
  }

  /** Show a progress notification (with Cancel) for jobs submitted from this window. */
  get progressNotifications(): boolean {
    return this.cfg.get<unknown>('jobs.progressNotifications') !== false;
  }

  /** Which changed settings need a daemon restart. */
  static restartNeeded(e: vscode.ConfigurationChangeEvent): string[] {
    return REQUIRES_DAEMON_RESTART.filter((k) => e.affectsConfiguration(`${SECTION}.${k}`));
  }
}
