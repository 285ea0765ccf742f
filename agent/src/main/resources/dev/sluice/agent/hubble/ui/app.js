// Sluice's Hubble UI: the service map and the flow table over the relay's /api endpoints (HubbleUi.java).
// Hand-written, no libraries, nothing fetched from elsewhere: the lab has no route out.
'use strict';
const FILTERS = ['namespace', 'pod', 'verdict', 'protocol', 'port', 'last'];
const SVG = 'http://www.w3.org/2000/svg';
const MAX_ROWS = 1000;
const page = new URLSearchParams(location.search);
const query = new URLSearchParams();
for (const k of FILTERS) for (const v of page.getAll(k)) if (v) query.append(k, v);
// follow unless asked not to: ?follow=0, or the form sent with Follow unchecked (its hidden 0 without the checkbox's 1)
const follow = !page.has('follow') || page.getAll('follow').includes('1');

const form = document.getElementById('filters');
for (const k of FILTERS) if (page.get(k)) form.elements[k].value = page.get(k);
form.querySelector('input[type=checkbox][name=follow]').checked = follow;

function status(text, error) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = error ? 'error' : '';
}

async function get(path, q) {
  const r = await fetch(path + '?' + q);
  const body = await r.text();
  if (!r.ok) throw new Error(body.trim());
  return JSON.parse(body);
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Nodes on a circle in id order (the server sorts them), so the same flows draw the same map.
function drawMap(g) {
  const svg = document.getElementById('map');
  svg.replaceChildren();
  const n = g.nodes.length, cx = 300, cy = 205, r = n < 2 ? 0 : 150;
  const at = {};
  g.nodes.forEach((node, i) => {
    const a = 2 * Math.PI * i / Math.max(n, 1) - Math.PI / 2;
    at[node.id] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  for (const e of g.edges) {
    const [x1, y1] = at[e.source], [x2, y2] = at[e.target];
    // bend each edge to its left so that a->b and b->a do not overlap
    const mx = (x1 + x2) / 2 - (y2 - y1) * 0.15, my = (y1 + y2) / 2 + (x2 - x1) * 0.15;
    const path = el('path', {class: 'edge ' + e.verdict, 'data-source': e.source, 'data-target': e.target, 'data-verdict': e.verdict,
      d: `M${x1},${y1} Q${mx},${my} ${x2},${y2}`, 'marker-end': 'url(#arrow-' + e.verdict + ')'});
    const counts = Object.entries(e.verdicts).map(([v, c]) => c + ' ' + v).join(', ');
    path.appendChild(el('title', {}, `${e.source} → ${e.target}: ${counts}; ports ${e.ports.join(' ') || '-'}` +
      (e.deniedBy.length ? '; denied by ' + e.deniedBy.join(', ') : '')));
    svg.appendChild(path);
  }
  const defs = el('defs', {});
  for (const v of ['FORWARDED', 'DROPPED', 'AUDIT']) {
    const m = el('marker', {id: 'arrow-' + v, viewBox: '0 0 10 10', refX: 32, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto'});
    m.appendChild(el('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrow ' + v}));
    defs.appendChild(m);
  }
  svg.appendChild(defs);
  for (const node of g.nodes) {
    const [x, y] = at[node.id];
    const grp = el('g', {class: 'node kind-' + node.kind, 'data-id': node.id});
    grp.appendChild(el('circle', {cx: x, cy: y, r: 22}));
    grp.appendChild(el('text', {x: x, y: y + 36}, node.name));
    if (node.namespace) grp.appendChild(el('text', {x: x, y: y + 48, class: 'ns'}, node.namespace));
    svg.appendChild(grp);
  }
  const drops = document.getElementById('drops');
  drops.replaceChildren();
  for (const e of g.edges.filter(e => e.verdict === 'DROPPED' || e.verdict === 'AUDIT')) {
    const li = document.createElement('li');
    li.className = 'drop ' + e.verdict;
    li.textContent = `${e.source} → ${e.target}: ${e.verdicts[e.verdict]} ${e.verdict}` +
      (e.deniedBy.length ? ', denied by ' + e.deniedBy.join(', ') : '');
    drops.appendChild(li);
  }
  if (!drops.children.length) drops.appendChild(Object.assign(document.createElement('li'), {textContent: 'none'}));
}

function endpoint(f, side) {
  const e = f[side] || {}, l4 = f.l4 || {}, proto = Object.keys(l4)[0];
  const port = proto && l4[proto][side + '_port'];
  let who = e.pod_name ? e.namespace + '/' + e.pod_name : f.IP[side];
  const reserved = (e.labels || []).find(l => l.startsWith('reserved:'));
  if (!e.pod_name && reserved) who += ' (' + reserved.slice(9) + ')';
  return who + (port ? ':' + port : '');
}

function policies(f) {
  const names = [];
  for (const k of ['ingress_denied_by', 'egress_denied_by'])
    for (const p of f[k] || []) names.push(k.split('_')[0] + ' denied by ' + p.kind + ' ' + (p.namespace ? p.namespace + '/' : '') + p.name);
  return names.join('; ');
}

function row(r) {
  const f = r.flow, tr = document.createElement('tr');
  tr.className = 'flow verdict-' + f.verdict;
  tr.dataset.verdict = f.verdict;
  // an L7 flow's type is its record's (http-request, dns-response), as hubble observe prints it
  const l7 = f.l7 ? (f.l7.http ? 'http' : f.l7.dns ? 'dns' : 'l7') + '-' + (f.l7.type || 'unknown').toLowerCase() : '';
  const type = l7 || (f.verdict === 'DROPPED' ? f.drop_reason_desc : (f.trace_observation_point || '').toLowerCase().replaceAll('_', '-'));
  const cells = [f.time.replace(/^.*T/, '').replace(/\.(\d{3})\d*Z$/, '.$1'), f.node_name, endpoint(f, 'source'), endpoint(f, 'destination'),
    type || '', f.verdict, f.Summary || '', policies(f)];
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (i === 5) td.className = 'verdict';
    tr.appendChild(td);
  });
  return tr;
}

let flowCount = 0;
function addRows(responses) {
  const body = document.querySelector('#flows tbody');
  // newest first
  for (const r of responses) body.insertBefore(row(r), body.firstChild);
  while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
  flowCount = body.children.length;
}

async function refreshMap() {
  drawMap(await get('/api/map', query));
}

async function load() {
  try {
    const [g, flows] = await Promise.all([get('/api/map', query), get('/api/flows', query)]);
    drawMap(g);
    addRows(flows.flows);
    status(`${flows.flows.length} flows, ${g.nodes.length} map nodes, ${g.edges.length} edges` + (follow ? '; following' : ''));
  } catch (e) {
    status(e.message, true);
    return;
  }
  if (!follow) return;
  const stream = new URLSearchParams(query);
  stream.delete('last');
  const es = new EventSource('/api/flows/stream?' + stream);
  let mapDue = false;
  es.onmessage = m => {
    addRows([JSON.parse(m.data)]);
    status(`${flowCount} flows; following`);
    if (!mapDue) {
      mapDue = true;
      setTimeout(() => { mapDue = false; refreshMap().catch(e => status(e.message, true)); }, 2000);
    }
  };
  es.addEventListener('error', m => { if (m.data) status('relay: ' + m.data, true); });
}
load();
