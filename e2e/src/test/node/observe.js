// A Hubble Observer client in Node.js, standing in for the hubble CLI's other clients: it loads
// Sluice's declared protos (hubble/src/main/proto) with @grpc/proto-loader and calls GetFlows.
// Usage: node observe.js PROTO_DIR ADDRESS REQUEST_JSON
//   ADDRESS: unix:///path or host:port; REQUEST_JSON: a GetFlowsRequest as proto3 JSON field names.
// Prints one JSON object a response (enums by name), then exits; with "follow" it stops after the
// first flow.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [protoDir, address, requestJson] = process.argv.slice(2);
if (!protoDir || !address || !requestJson) {
  console.error('usage: node observe.js PROTO_DIR ADDRESS REQUEST_JSON');
  process.exit(2);
}
const def = loader.loadSync(path.join(protoDir, 'observer/observer.proto'),
  { includeDirs: [protoDir], keepCase: true, enums: String, longs: String, defaults: false, oneofs: true });
const observer = grpc.loadPackageDefinition(def).observer;
const client = new observer.Observer(address, grpc.credentials.createInsecure());
const request = JSON.parse(requestJson);
const call = client.GetFlows(request, { deadline: Date.now() + 30000 });
call.on('data', (r) => {
  process.stdout.write(JSON.stringify(r) + '\n');
  if (request.follow && r.flow) call.cancel();
});
call.on('error', (e) => {
  if (e.code === grpc.status.CANCELLED) process.exit(0);
  console.error(`observe.js: ${grpc.status[e.code]}: ${e.details}`);
  process.exit(1);
});
call.on('end', () => process.exit(0));
