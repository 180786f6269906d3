'use strict';
// Request ids, labels and the task list through the Client, against a stand-in
// Transcoding server on loopback that records what it receives. The real gateway's
// behaviour (the same id returns the same task) is checked by examples/transcode.js on
// the sandboxed gateway in CI. Run like target.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Client, newRequestId, grpc, v1 } = require('..');

/** Five tasks t4..t0 (newest first) in pages of pageSize; `requests` holds what came in. */
async function standIn(t) {
  const requests = [];
  const tokens = ['t4', 't3', 't2', 't1', 't0'];
  const server = new grpc.Server();
  server.addService(v1.Transcoding.service, {
    Transcode: (call, callback) => { requests.push(call.request); callback(null, { taskToken: 't9' }); },
    CreateTask: (call, callback) => { requests.push(call.request); callback(null, { taskToken: 't8' }); },
    GetTask: (call, callback) => callback(null, { task: { taskToken: call.request.taskToken, requestId: 'r1', labels: { env: 'prod' } } }),
    ListTasks: (call, callback) => {
      requests.push(call.request);
      const start = Number(call.request.pageToken || 0);
      const end = start + (call.request.pageSize || 50);
      callback(null, {
        tasks: tokens.slice(start, end).map((taskToken) => ({ taskToken })),
        nextPageToken: end < tokens.length ? String(end) : '',
      });
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new Client(`127.0.0.1:${port}`, { timeoutMs: 10000 });
  t.after(() => { client.close(); server.forceShutdown(); });
  return { client, requests };
}

test('request ids are UUID v4', () => {
  const id = newRequestId();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(id, newRequestId());
});

test('requestId and labels are sent; getTask reads a record', async (t) => {
  const { client, requests } = await standIn(t);
  await client.transcode({ source: 'https://example.com/a.mp4', format: [{ output: 'mp4' }] }, { requestId: 'r-1', labels: { env: 'prod' } });
  await client.createTask({ requestId: 'r-2', labels: { team: 'video' } });
  const [transcode, create] = requests;
  assert.deepEqual([transcode.requestId, { ...transcode.labels }], ['r-1', { env: 'prod' }]);
  assert.deepEqual([create.requestId, { ...create.labels }], ['r-2', { team: 'video' }]);
  const record = await client.getTask('t3');
  assert.deepEqual([record.taskToken, record.requestId, { ...record.labels }], ['t3', 'r1', { env: 'prod' }]);
});

test('listTasks reads one page, tasks() every page with the same filters', async (t) => {
  const { client, requests } = await standIn(t);
  const page = await client.listTasks({ pageSize: 2 });
  assert.deepEqual(page.tasks.map((task) => task.taskToken), ['t4', 't3']);
  assert.equal(page.nextPageToken, '2');
  const seen = [];
  for await (const task of client.tasks({ pageSize: 2, phase: 'TASK_PHASE_ACTIVE', labels: { env: 'prod' } })) seen.push(task.taskToken);
  assert.deepEqual(seen, ['t4', 't3', 't2', 't1', 't0']);
  const pages = requests.slice(1);
  assert.deepEqual(pages.map((r) => r.pageToken), ['', '2', '4']);
  assert.ok(pages.every((r) => r.phase === 'TASK_PHASE_ACTIVE' && r.labels.env === 'prod'));

  await client.listTasks({ createdAfter: new Date('2025-01-31T01:02:03.5Z') });
  const last = requests[requests.length - 1];
  assert.deepEqual([last.createdAfter.seconds, last.createdAfter.nanos], ['1738285323', 500000000]);
  assert.throws(() => client.listTasks({ createdBefore: 'yesterday' }), TypeError);
});
