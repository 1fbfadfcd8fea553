/**
 * The dashboard webview's HTML shell: a strict Content-Security-Policy (nothing but the bundle, which carries
 * the nonce; styles only from the webview's resource origin; images only as `data:` URIs, which is how the
 * daemon's pictures arrive, so the page loads no file from disk), the stylesheet and the element ids
 * the bundle (webview/src/main.ts) fills in. Pure, no `vscode` import: the panel passes
 * `webview.cspSource` and `asWebviewUri` strings, the browser test passes its local server's.
 */
import { randomBytes } from 'node:crypto';

export interface DashboardHtmlInput {
  /** `webview.cspSource`: the origin images and styles may come from. */
  cspSource: string;
  /** URI of out/webview/dashboard.js. */
  scriptUri: string;
  /** URI of webview/dashboard.css. */
  styleUri: string;
  /** Fresh per page load; `newNonce()` by default. */
  nonce?: string;
}

/** 128 random bits, base64 (CSP nonce). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

function attr(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function dashboardCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    'img-src data:',
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function dashboardHtml(input: DashboardHtmlInput): string {
  const nonce = input.nonce ?? newNonce();
  if (!/^[A-Za-z0-9+/=]{16,}$/.test(nonce)) throw new Error(`dashboardHtml: nonce "${nonce}" is not base64 of at least 12 bytes`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(dashboardCsp(input.cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(input.styleUri)}">
<title>Face Inversion Dashboard</title>
</head>
<body>
<div id="banner"></div>
<div class="layout">
  <nav class="sidebar"><h2>Runs</h2><div id="runs"></div></nav>
  <main>
    <header id="header"></header>
    <section class="card">
      <div class="section-title"><h2 id="chart-title">Loss</h2><label class="toggle"><input type="checkbox" id="log-scale"> log scale</label></div>
      <div class="chart-box"><canvas id="loss-chart" aria-label="loss curves" role="img"></canvas><p id="chart-empty" class="empty overlay"></p></div>
    </section>
    <section class="card"><h2>Success attack rates</h2><div id="sar"></div></section>
    <section class="card"><h2>Reconstructions <span class="muted small">original · reconstruction</span></h2><div id="faces"></div></section>
  </main>
</div>
<div id="lightbox"></div>
<script nonce="${attr(nonce)}" src="${attr(input.scriptUri)}"></script>
</body>
</html>
`;
}
