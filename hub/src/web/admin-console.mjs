// The hub's admin console: plain browser JavaScript, no build step. hub/src/web/admin-page.ts inlines
// it into the page. After sign-in it polls the admin JSON API every 2 s with the admin token (kept in
// sessionStorage for this tab). Every value from the API reaches the page through textContent.

const TOKEN_KEY = 'edgeloop-admin-token';
const POLL_MS = 2000;
const byId = (id) => document.getElementById(id);

let timer = null;
/** Bumped on sign-in and sign-out: answers to older requests are dropped. */
let generation = 0;
/** Details of finished runs never change: fetched once. */
const finishedRuns = new Map();

class SignInNeeded extends Error {}

async function api(path, body) {
  const init = { headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) || ''}` } };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api/v1${path}`, init);
  if (res.status === 401) throw new SignInNeeded('admin token refused');
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.message || `HTTP ${res.status}`);
  return data;
}

// ---- formatting -------------------------------------------------------------------------------

const when = (iso) => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '–');
const fixed = (x, digits = 4) => (typeof x === 'number' ? x.toFixed(digits) : '–');
const pct = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '–');
const ids = (list, max = 5) => (list.length <= max ? list.join(', ') : `${list.slice(0, max).join(', ')} … (+${list.length - max})`);

/** A table cell: text, or a node (buttons). */
function cell(value) {
  const td = document.createElement('td');
  if (value instanceof Node) td.append(value);
  else td.textContent = value === null || value === undefined ? '' : String(value);
  return td;
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

/** Replaces a table's rows: one per item (data-id set), or one row saying the table is empty. */
function fill(tableId, items, toCells, emptyText) {
  const table = byId(tableId);
  const rows = items.map((item) => {
    const tr = document.createElement('tr');
    tr.dataset.id = String(item.id);
    tr.append(...toCells(item).map(cell));
    return tr;
  });
  if (rows.length === 0) {
    const td = cell(emptyText);
    td.colSpan = table.tHead.rows[0].cells.length;
    td.className = 'empty';
    const tr = document.createElement('tr');
    tr.append(td);
    rows.push(tr);
  }
  table.tBodies[0].replaceChildren(...rows);
}

// ---- sections ---------------------------------------------------------------------------------

function renderDevices(devices) {
  fill(
    'devices',
    devices,
    (d) => {
      const reported = Object.entries(d.reported?.models ?? {}).map(([t, m]) => `${t} v${m.version ?? '–'} ${m.state}`);
      const desired = Object.entries(d.desired ?? {}).map(([t, m]) => `${t} v${m.version}${m.rollback ? ' (rollback)' : ''}`);
      return [d.id, d.role, d.branch, d.revoked ? 'revoked' : d.status, reported.join(', '), desired.join(', '), when(d.lastSeen)];
    },
    'No devices yet.',
  );
}

function figures(f) {
  if (!f) return '–';
  const g = (x) => `${x.errors}/${x.requests} errors, p95 ${fixed(x.p95Ms, 0)} ms, ${x.corrections}/${x.confirmations} corrected`;
  return `canary: ${g(f.canary)}; control: ${g(f.control)}`;
}

function renderRollouts(rollouts) {
  fill(
    'rollouts',
    rollouts,
    (r) => {
      const actions = document.createElement('span');
      if (r.status === 'canary') {
        actions.append(
          button('Promote', () => rolloutAction(r, 'promote', `Promote ${r.modelType} v${r.version} to every device?`)),
          ' ',
          button('Abort', () => rolloutAction(r, 'abort', `Abort the ${r.modelType} v${r.version} rollout and roll the canary devices back?`)),
        );
      }
      const version = `v${r.version}${r.previousVersion === null ? '' : ` (from v${r.previousVersion})`}`;
      return [r.id, r.modelType, version, r.status, ids(r.canary), r.control.length === 0 ? 'none' : `${r.control.length}: ${ids(r.control)}`, figures(r.figures), r.reason, when(r.startedAt), actions];
    },
    'No rollouts yet.',
  );
}

async function rolloutAction(r, action, question) {
  if (!window.confirm(question)) return;
  const reason = `${action === 'promote' ? 'promoted' : 'aborted'} from the admin console`;
  await act(async () => {
    const out = await api(`/rollouts/${r.id}/${action}`, { reason });
    return `Rollout ${out.id} (${out.modelType} v${out.version}) is now ${out.status}.`;
  });
}

async function runDetails(runs) {
  const newest = new Map();
  for (const run of runs) if (!newest.has(run.modelType)) newest.set(run.modelType, run);
  const out = new Map();
  await Promise.all(
    [...newest.values()].map(async (run) => {
      const open = run.status === 'running' || run.status === 'held';
      const detail = (!open && finishedRuns.get(run.id)) || (await api(`/training/runs/${run.id}`));
      if (!open) finishedRuns.set(run.id, detail);
      out.set(run.modelType, detail);
    }),
  );
  return out;
}

/** One line per model type: the newest run, and its latest epoch (live while it runs). */
function renderLive(details) {
  for (const el of document.querySelectorAll('[data-live]')) {
    const run = details.get(el.dataset.live);
    if (!run) {
      el.textContent = `${el.dataset.live}: no training run yet.`;
      continue;
    }
    const last = run.progress.at(-1);
    const parts = [`${run.modelType} run #${run.id} (${run.trigger})`, run.status];
    if (run.stage) parts.push(`stage ${run.stage}`);
    if (last) {
      parts.push(`epoch ${last.epoch} / ${run.maxEpochs ?? '?'}`, `loss ${fixed(last.loss)}`, `accuracy ${pct(last.accuracy)}`, `validation accuracy ${pct(last.valAccuracy)}`, `at ${when(last.at)}`);
    } else {
      parts.push('no epoch yet');
    }
    if (run.reason) parts.push(run.reason);
    el.textContent = parts.join(' · ');
  }
}

function renderRuns(runs) {
  fill('runs', runs, (r) => [r.id, r.modelType, r.trigger, r.status, r.stage ?? '–', r.candidateVersion === null ? '–' : `v${r.candidateVersion}`, when(r.createdAt), when(r.finishedAt), r.reason ?? ''], 'No training runs yet.');
}

function renderMembers(members) {
  fill('members', members, (m) => [m.id, m.name, m.branch, m.photos.length, when(m.createdAt)], 'No members enrolled.');
}

// ---- polling, sign-in and actions ---------------------------------------------------------------

function setText(id, text) {
  byId(id).textContent = text;
}

function showSignIn(message) {
  clearTimeout(timer);
  generation++;
  byId('console').hidden = true;
  byId('signout').hidden = true;
  byId('login').hidden = false;
  setText('updated', '');
  setText('msg', message);
  byId('token').focus();
}

async function refresh() {
  const gen = generation;
  clearTimeout(timer);
  try {
    const [d, r, t, m] = await Promise.all([api('/devices'), api('/rollouts'), api('/training/runs?limit=20'), api('/intake/members')]);
    const details = await runDetails(t.runs);
    if (gen !== generation) return;
    renderDevices(d.devices);
    renderRollouts(r.rollouts);
    renderLive(details);
    renderRuns(t.runs);
    renderMembers(m.members);
    byId('login').hidden = true;
    byId('console').hidden = false;
    byId('signout').hidden = false;
    setText('msg', '');
    setText('updated', `Updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (gen !== generation) return;
    if (err instanceof SignInNeeded) {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignIn('Wrong admin token: the hub refused it (HTTP 401). The token is in var/hub/admin-token on the hub.');
      return;
    }
    setText('msg', `The hub did not answer (${err.message}); retrying every ${POLL_MS / 1000} s.`);
  }
  clearTimeout(timer); // an action's refresh may have overlapped this one: keep a single poll going
  timer = setTimeout(refresh, POLL_MS);
}

/** Runs an admin action, shows its outcome and refreshes at once. */
async function act(fn) {
  try {
    setText('note', await fn());
  } catch (err) {
    if (err instanceof SignInNeeded) return showSignIn('The hub no longer accepts this admin token; sign in again.');
    setText('note', `Refused: ${err.message}`);
  }
  await refresh();
}

byId('login').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, byId('token').value.trim());
  byId('token').value = '';
  generation++;
  setText('msg', 'Signing in…');
  refresh();
});

byId('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn('Signed out.');
});

for (const b of document.querySelectorAll('[data-start-training]')) {
  const modelType = b.dataset.startTraining;
  b.addEventListener('click', () =>
    act(async () => {
      const run = await api('/training/runs', { modelType });
      return `Started ${modelType} training run #${run.id}.`;
    }),
  );
}

if (sessionStorage.getItem(TOKEN_KEY)) refresh();
else showSignIn('Sign in with the admin token to see the fleet, rollouts, training and members.');
