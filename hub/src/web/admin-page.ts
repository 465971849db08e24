/** A first status page; the full admin console builds on the same API. */
export function adminPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edgeloop hub</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body>
<h1>Edgeloop hub</h1>
<form id="login"><label>Admin token <input id="token" type="password" autocomplete="current-password"></label> <button>Show fleet</button></form>
<p id="msg"></p>
<table id="devices" hidden><thead><tr><th>Device</th><th>Role</th><th>Branch</th><th>Status</th><th>Models</th><th>Last seen</th></tr></thead><tbody></tbody></table>
<script>
const form = document.getElementById('login');
async function load() {
  const token = sessionStorage.getItem('edgeloop-token') || '';
  const res = await fetch('/api/v1/devices', { headers: { authorization: 'Bearer ' + token } });
  const msg = document.getElementById('msg');
  if (!res.ok) { msg.textContent = res.status === 401 ? 'Please sign in with the admin token.' : 'Error ' + res.status; return; }
  msg.textContent = '';
  const { devices } = await res.json();
  const body = document.querySelector('#devices tbody');
  body.replaceChildren(...devices.map((d) => {
    const tr = document.createElement('tr');
    const models = Object.entries((d.reported && d.reported.models) || {}).map(([t, m]) => t + ' v' + m.version + ' ' + m.state).join(', ');
    for (const v of [d.id, d.role, d.branch, d.status, models, d.lastSeen || '']) { const td = document.createElement('td'); td.textContent = v; tr.append(td); }
    return tr;
  }));
  document.getElementById('devices').hidden = false;
}
form.addEventListener('submit', (e) => { e.preventDefault(); sessionStorage.setItem('edgeloop-token', document.getElementById('token').value); load(); });
load(); setInterval(load, 3000);
</script></body></html>`;
}
