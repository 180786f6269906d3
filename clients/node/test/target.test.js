'use strict';
// The gateway targets a Client accepts: host:port, http://, https:// and IPv6 literals.
// Run with `node --test test/` in clients/node after `npm install` there, or, as CI does,
// from an installed copy: node --test <project>/node_modules/qencode-gateway-client/test/target.test.js
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { parseTarget } = require('../target');
const { Client, GatewayError, grpc, v1 } = require('..');

test('host:port and grpc-js targets pass as is', () => {
  for (const target of ['127.0.0.1:50051', 'localhost:50051', 'gw.example.com:443', '[::1]:50051',
    'dns:///localhost:50051', 'ipv4:127.0.0.1:50051', 'ipv6:[::1]:50051', 'unix:/run/gw.sock']) {
    assert.deepEqual(parseTarget(target), { address: target, tls: undefined }, target);
  }
});

test('http:// is plaintext host:port', () => {
  assert.deepEqual(parseTarget('http://127.0.0.1:50051'), { address: '127.0.0.1:50051', tls: false });
  assert.deepEqual(parseTarget('http://localhost:50051/'), { address: 'localhost:50051', tls: false });
  assert.deepEqual(parseTarget('HTTP://LocalHost:50051'), { address: 'localhost:50051', tls: false });
  assert.deepEqual(parseTarget('http://gw'), { address: 'gw:80', tls: false });
});

test('https:// is TLS', () => {
  assert.deepEqual(parseTarget('https://gw.example.com:8443'), { address: 'gw.example.com:8443', tls: true });
  assert.deepEqual(parseTarget('https://gw.example.com'), { address: 'gw.example.com:443', tls: true });
});

test('IPv6 literals keep their brackets', () => {
  assert.deepEqual(parseTarget('http://[::1]:50051'), { address: '[::1]:50051', tls: false });
  assert.deepEqual(parseTarget('https://[::1]:50051'), { address: '[::1]:50051', tls: true });
  assert.deepEqual(parseTarget('http://[::1]'), { address: '[::1]:80', tls: false });
});

test('malformed targets are refused', () => {
  for (const target of ['', 'http://', 'http://:50051', 'http://gw:port', 'http://gw:70000',
    'http://gw:50051/v1', 'http://gw:50051?x=1', 'http://user@gw:50051']) {
    assert.throws(() => parseTarget(target), TypeError, JSON.stringify(target));
  }
});

test('the Client connects grpc-js to the mapped address', (t) => {
  for (const [target, expected] of [['localhost:50051', 'dns:localhost:50051'],
    ['http://127.0.0.1:50051', 'dns:127.0.0.1:50051'], ['http://[::1]:50051', 'dns:[::1]:50051'],
    ['https://gw.example.com', 'dns:gw.example.com:443']]) {
    const client = new Client(target);
    t.after(() => client.close());
    assert.equal(client.transcoding.getChannel().getTarget(), expected, target);
  }
});

test('TLS settings with an http:// target are refused', () => {
  assert.throws(() => new Client('http://gw:50051', { ca: Buffer.from('PEM') }), TypeError);
  assert.throws(() => new Client('http://gw:50051', { credentials: grpc.credentials.createSsl() }), TypeError);
});

function ipv6Loopback() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('each form reaches a real gRPC server on loopback', async (t) => {
  // A stand-in Transcoding service: GetStatus names every token unknown.
  const server = new grpc.Server();
  server.addService(v1.Transcoding.service, {
    GetStatus: (call, callback) => callback(null, { unknownTaskTokens: call.request.taskTokens }),
  });
  const bind = (address) => new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  const port = await bind('127.0.0.1:0');
  const ipv6 = (await ipv6Loopback()) && (await bind(`[::1]:${port}`).then(() => true, () => false));
  t.after(() => server.forceShutdown());

  const call = async (target) => {
    const client = new Client(target, { timeoutMs: 10000 });
    try {
      assert.deepEqual((await client.getStatus('t1')).unknownTaskTokens, ['t1'], target);
    } finally {
      client.close();
    }
  };
  for (const target of [`127.0.0.1:${port}`, `localhost:${port}`, `http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    await t.test(target, () => call(target));
  }
  for (const target of [`[::1]:${port}`, `http://[::1]:${port}`]) {
    await t.test(target, { skip: !ipv6 && 'no IPv6 loopback on this machine' }, () => call(target));
  }
  await t.test('https:// really uses TLS (a plaintext server cannot answer)', async () => {
    const client = new Client(`https://localhost:${port}`, { timeoutMs: 5000 });
    try {
      await assert.rejects(client.getStatus('t1'), (err) =>
        err instanceof GatewayError && err.codeName === 'UNAVAILABLE' && /SSL|TLS/.test(err.message));
    } finally {
      client.close();
    }
  });
});
