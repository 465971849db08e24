import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import { MODEL_TYPES } from '@edgeloop/shared';

/** The console's script (plain browser JavaScript, see admin-console.mjs), inlined into the page. */
const SCRIPT = readFileSync(new URL('./admin-console.mjs', import.meta.url), 'utf8');

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5rem 2rem;color:#222}
header{display:flex;gap:1rem;align-items:baseline}h1{font-size:1.4rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
#updated{color:#666}#msg{font-weight:600;color:#a40000}#msg:empty,#note:empty{display:none}#note{background:#eef5ee;padding:.4rem .6rem}
table{border-collapse:collapse;margin-bottom:.5rem}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.empty{color:#666;font-style:italic}.live{margin:.3rem 0;font-family:ui-monospace,monospace}
button{margin-right:.3rem}
`;

const table = (id: string, headers: string[]) =>
  `<table id="${id}"><thead><tr>${headers.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody></tbody></table>`;

/** The admin console: sign-in with the admin token, then devices, rollouts, training runs and members. */
export function adminPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Edgeloop hub</title><style>${STYLE}</style></head><body>
<header><h1>Edgeloop hub</h1><span id="updated"></span><button id="signout" type="button" hidden>Sign out</button></header>
<form id="login"><label>Admin token <input id="token" type="password" autocomplete="current-password" required></label> <button>Sign in</button></form>
<p id="msg" role="alert"></p>
<main id="console" hidden>
<p id="note" role="status"></p>
<section><h2>Devices</h2>${table('devices', ['Device', 'Role', 'Branch', 'Status', 'Reported models', 'Desired', 'Last seen'])}</section>
<section><h2>Rollouts</h2>${table('rollouts', ['ID', 'Model', 'Version', 'Status', 'Canary', 'Control', 'Figures', 'Reason', 'Started', 'Actions'])}</section>
<section><h2>Training</h2>
<p>${MODEL_TYPES.map((t) => `<button type="button" data-start-training="${t}">Start ${t} training</button>`).join('')}</p>
${MODEL_TYPES.map((t) => `<p class="live" id="live-${t}" data-live="${t}"></p>`).join('\n')}
${table('runs', ['ID', 'Model', 'Trigger', 'Status', 'Stage', 'Candidate', 'Started', 'Finished', 'Reason'])}</section>
<section><h2>Members</h2>${table('members', ['ID', 'Name', 'Branch', 'Photos', 'Enrolled'])}</section>
</main>
<script type="module">${SCRIPT}</script>
</body></html>`;
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/**
 * Serves the console with a Content-Security-Policy that allows only its own inline script and
 * style and requests to this hub: nothing else runs, even if data ever reached the page as markup.
 */
export function adminPageHandler(): RequestHandler {
  const html = adminPage();
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return (_req, res) => {
    res.set({ 'content-security-policy': csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
    res.type('html').send(html);
  };
}
