/**
 * The banner over the whole view: why the daemon is not live (unreachable and reconnecting, token refused,
 * none connected) with a button to connect again, and the view's own message (the shown run was deleted).
 */
import { h, type Child } from './dom';
import { bannerText } from './dashboardData';
import type { DashboardState } from '../../daemon/protocol/webview';

export function renderBanner(state: DashboardState | null, reconnect: () => void): Child[] {
  const text = bannerText(state);
  if (!text) return [];
  const offer = state !== null && !state.daemon.connected;
  return [h('div', { class: 'banner', attrs: { 'data-testid': 'banner' } }, [
    h('span', { text }),
    offer ? h('button', { class: 'secondary', text: state.daemon.remote ? 'Connect to Daemon…' : 'Start Daemon', on: { click: reconnect } }) : null,
  ])];
}
