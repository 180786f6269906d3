#!/usr/bin/env node
// The client package end to end: create -> start -> WatchStatus until completed, the same
// from a saved profile, a transcode sent twice under one request id (one task), the task
// list filtered by label, then a bad request whose BadRequest detail must name the
// offending field. The gateway needs a ledger (GATEWAY_DATABASE_URL, on by default).
// Usage: node examples/transcode.js [--target localhost:50051] [--ca ca.pem] [--timeout 60] [--quick]
// --target takes host:port, http://host:port or https://host:port (--ca: PEM of a private
// CA); --quick skips the two tasks and makes only the bad request (CI uses it to try each
// form of --target).
// Exits 0 when both behaved as documented, 1 otherwise (CI runs it on the sandbox).
'use strict';
const fs = require('node:fs');
const { Client, GatewayError, newRequestId } = require('qencode-gateway-client');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

async function main() {
  const ca = arg('ca') && fs.readFileSync(arg('ca'));
  const client = new Client(arg('target', 'localhost:50051'), { timeoutMs: 10000, ca });
  try {
    await client.waitReady(30000);
    if (process.argv.includes('--quick')) return await badRequest(client);
    const task = await client.createTask();
    await client.startEncode(task.taskToken, {
      source: 'https://example.com/video.mp4',
      format: [{ output: 'mp4', size: '640x360', framerate: { text: '29.97' } }],
    });
    console.log(`started ${task.taskToken}`);
    let final;
    for await (const status of client.watch(task.taskToken, { timeoutMs: Number(arg('timeout', '60')) * 1000 })) {
      console.log(`  ${status.status.padEnd(12)} ${(status.percent || 0).toFixed(1).padStart(5)}%`);
      final = status;
    }
    if (!final || final.state !== 'TASK_STATE_COMPLETED') throw new Error('the task did not complete');
    console.log('completed');

    // The same from a transcoding profile saved in the account (the sandbox knows the
    // ids Qencode's own examples use).
    const fromProfile = await client.createTask();
    await client.startEncodeProfiles(fromProfile.taskToken, ['5adb0584aa43b'], { source: 'https://example.com/video.mp4' });
    let last;
    for await (const status of client.watch(fromProfile.taskToken, { timeoutMs: Number(arg('timeout', '60')) * 1000 })) {
      last = status;
    }
    if (!last || last.state !== 'TASK_STATE_COMPLETED') throw new Error('the profile task did not complete');
    console.log(`completed from a profile: ${last.videos.length} video output(s)`);
    await ledger(client);
    await badRequest(client);
  } finally {
    client.close();
  }
}

async function ledger(client) {
  // A repeat under the same request id (as after a lost answer) gets the same task.
  const query = { source: 'https://example.com/video.mp4', format: [{ output: 'mp4' }] };
  const requestId = newRequestId();
  const labels = { example: newRequestId() };
  const first = await client.transcode(query, { requestId, labels });
  const again = await client.transcode(query, { requestId, labels });
  const second = await client.transcode(query, { requestId: newRequestId(), labels });
  if (first.taskToken !== again.taskToken || second.taskToken === first.taskToken) {
    throw new Error('one request id should mean one task');
  }
  const record = await client.getTask(first.taskToken);
  const listed = [];
  for await (const task of client.tasks({ labels, pageSize: 1 })) listed.push(task.taskToken);
  console.log(`ledger: ${record.taskToken} requestId=${record.requestId} listed=${listed.length}`);
  if (record.requestId !== requestId || JSON.stringify(listed) !== JSON.stringify([second.taskToken, first.taskToken])) {
    throw new Error(`expected both tasks, newest first: ${JSON.stringify(listed)}`);
  }
}

async function badRequest(client) {
  // No task tokens at all: the gateway refuses it before any upstream call.
  try {
    await client.getStatus();
    throw new Error('an empty GetStatus should have failed');
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    const fields = err.fieldViolations.map((v) => v.field);
    console.log(`bad request: ${err.codeName} reason=${err.reason} fields=${JSON.stringify(fields)}`);
    if (err.codeName !== 'INVALID_ARGUMENT' || !fields.includes('task_tokens')) {
      throw new Error('expected INVALID_ARGUMENT naming task_tokens');
    }
  }
}

main().catch((err) => {
  console.error(`failed: ${err.message}`);
  process.exit(1);
});
