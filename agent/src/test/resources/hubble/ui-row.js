// HubbleUiTest: runs app.js's row() against an L7 flow and a dropped L3/L4 one with a minimal DOM (node ui-row.js app.js)
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const m = src.match(/function endpoint[\s\S]*?\n}\n\nfunction policies[\s\S]*?\n}\n\nfunction row[\s\S]*?\n}\n/);
const el = () => ({ children: [], appendChild(c) { this.children.push(c); }, dataset: {} });
global.document = { createElement: el };
eval(m[0] + '; global.row = row;');
const flow = { time: '2026-12-03T08:00:00.001234Z', node_name: 'node1', verdict: 'DROPPED', IP: { source: '10.0.0.5', destination: '10.0.1.6' },
  l4: { TCP: { source_port: 40000, destination_port: 80 } }, source: { namespace: 'x', pod_name: 'a' }, destination: { namespace: 'x', pod_name: 'b' },
  Type: 'L7', l7: { type: 'REQUEST', http: { method: 'POST' } }, Summary: 'HTTP/1.1 POST http://b/' };
const tr = row({ flow });
const cells = tr.children.map(c => c.textContent);
if (cells[4] !== 'http-request' || cells[6] !== 'HTTP/1.1 POST http://b/') { console.error('bad', cells); process.exit(1); }
const l3 = row({ flow: { ...flow, Type: 'L3_L4', l7: undefined, drop_reason_desc: 'POLICY_DENIED' } });
if (l3.children[4].textContent !== 'POLICY_DENIED') { console.error('bad l3', l3.children.map(c => c.textContent)); process.exit(1); }
console.log('ui row ok:', cells.join(' | '));
