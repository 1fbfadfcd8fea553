/**
 * The webview side of the postMessage channel: `acquireVsCodeApi()` (callable once per page), typed sends
 * (declarations from daemon/protocol/webview.ts) and the persisted view state (getState/setState, so the
 * panel needs no retainContextWhenHidden).
 */
import type { ToExtensionMessage } from '../../daemon/protocol/webview';
import { restoreViewState, type ViewState } from './dashboardData';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(msg: ToExtensionMessage): void {
  api.postMessage(msg);
}

export function loadViewState(): ViewState {
  return restoreViewState(api.getState());
}

export function saveViewState(view: ViewState): void {
  api.setState(view);
}
