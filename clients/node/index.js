'use strict';
// Node client for qencode-gateway: loads the protos shipped in this package with
// @grpc/proto-loader (no generated code to keep in sync), wraps each RPC in a
// promise-returning method and turns failures into GatewayError with decoded details.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { once } = require('node:events');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { GatewayError, wrap, decodeDetails } = require('./errors');
const { parseTarget } = require('./target');

/** Where qencode/gateway/v1/*.proto are: copied into the package, else the repo checkout. */
function protoRoot() {
  const candidates = [path.join(__dirname, 'protos'), path.resolve(__dirname, '..', '..', 'proto')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'qencode', 'gateway', 'v1', 'transcoding.proto')));
  if (!found) throw new Error(`qencode-gateway protos not found in ${candidates.join(' or ')}`);
  return found;
}

// enums as strings ('TASK_STATE_COMPLETED'), 64-bit integers as strings (no precision
// loss), defaults filled in so callers need not test for undefined, oneofs named.
const LOADER_OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };
const root = protoRoot();
const definition = protoLoader.loadSync(
  ['qencode/gateway/v1/transcoding.proto', 'qencode/gateway/v1/live_streaming.proto'],
  { ...LOADER_OPTIONS, includeDirs: [root] },
);
const v1 = grpc.loadPackageDefinition(definition).qencode.gateway.v1;

const TERMINAL_TASK_STATES = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_ERROR', 'TASK_STATE_FAILED']);
// Bytes per UploadFile message: well under gRPC's default 4 MiB message limit.
const UPLOAD_CHUNK_BYTES = 256 * 1024;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Client {
  /**
   * @param {string} [target] the gateway: `host:port`, `[::1]:port`, `http://host:port`
   *   (plaintext) or `https://host:port` (TLS, checked against the system's roots or `ca`).
   * @param {{credentials?: grpc.ChannelCredentials, ca?: Buffer, timeoutMs?: number, metadata?: Object<string, string>}} [options]
   *   `ca`: PEM of a private CA; `credentials` (e.g. grpc.credentials.createSsl(ca, key, cert)
   *   for mutual TLS) replace it. `host:port` is plaintext unless either is given; an
   *   `http://` target with either is refused. timeoutMs is each unary call's deadline (30 s).
   */
  constructor(target = 'localhost:50051', options = {}) {
    const { address, credentials } = channelSettings(target, options);
    this.timeoutMs = options.timeoutMs || 30000;
    this.metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(options.metadata || {})) this.metadata.set(key, value);
    /** The raw grpc-js stubs, for anything not wrapped here. */
    this.transcoding = new v1.Transcoding(address, credentials);
    this.live = new v1.LiveStreaming(address, credentials, { channelOverride: this.transcoding.getChannel() });
  }

  close() {
    this.transcoding.close();
  }

  /** Resolves once the channel is connected; rejects after timeoutMs. */
  waitReady(timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      this.transcoding.waitForReady(new Date(Date.now() + timeoutMs), (err) => (err ? reject(err) : resolve()));
    });
  }

  _deadline(timeoutMs) {
    return { deadline: new Date(Date.now() + (timeoutMs || this.timeoutMs)) };
  }

  _unary(stub, method, request, timeoutMs) {
    return new Promise((resolve, reject) => {
      stub[method](request, this.metadata, this._deadline(timeoutMs), (err, response) =>
        err ? reject(wrap(err)) : resolve(response),
      );
    });
  }

  async *_stream(call) {
    try {
      for await (const message of call) yield message;
    } catch (err) {
      throw wrap(err);
    } finally {
      call.cancel(); // a caller that stops iterating early must not leave the stream open
    }
  }

  // --- Transcoding ---------------------------------------------------------------------

  // Submissions take `requestId` (see newRequestId(): a repeat with the same id and
  // request returns the first answer; needs a gateway with a ledger) and, where the
  // proto has them, `labels` kept in the gateway's ledger (listTasks filters on them).

  /**
   * @param {{requestId?: string, labels?: Object<string, string>}} [options]
   * @returns {Promise<{taskToken: string, uploadUrl: string}>}
   */
  createTask(options = {}) {
    return this._unary(this.transcoding, 'CreateTask', { requestId: options.requestId, labels: options.labels });
  }

  /**
   * @param {string} taskToken
   * @param {object|string} query a TranscodingQuery object, or raw query JSON as a string.
   * @param {{payload?: string, requestId?: string}} [options]
   * @returns {Promise<{statusUrl: string}>}
   */
  startEncode(taskToken, query, options = {}) {
    const { payload, requestId } = options;
    return this._unary(this.transcoding, 'StartEncode', { taskToken, ...queryKind(query), payload, requestId });
  }

  /**
   * Starts a task from transcoding profiles saved in the account (`/v1/start_encode`);
   * unknown profile ids are NOT_FOUND.
   * @param {string} taskToken
   * @param {string[]} profiles
   * @param {{source?: string, stitch?: object[], transferMethod?: string, payload?: string,
   *   outputPathVariables?: Object<string, string>, startTime?: number, duration?: number,
   *   requestId?: string}} [options]
   * @returns {Promise<{statusUrl: string}>}
   */
  startEncodeProfiles(taskToken, profiles, options = {}) {
    return this._unary(this.transcoding, 'StartEncodeProfiles', { taskToken, profiles, ...options });
  }

  /**
   * Create + start in one call.
   * @param {{payload?: string, requestId?: string, labels?: Object<string, string>}} [options]
   * @returns {Promise<{taskToken: string, statusUrl: string}>}
   */
  transcode(query, options = {}) {
    const { payload, requestId, labels } = options;
    return this._unary(this.transcoding, 'Transcode', { ...queryKind(query), payload, requestId, labels });
  }

  /**
   * The task as the gateway's ledger holds it (caller, labels, request id, times, redacted
   * query, latest status); NOT_FOUND when the ledger does not hold it.
   * @returns {Promise<object>} a TaskRecord
   */
  async getTask(taskToken) {
    const response = await this._unary(this.transcoding, 'GetTask', { taskToken });
    return response.task;
  }

  /**
   * One page of the project's tasks, newest first; pass its `nextPageToken` (with the same
   * filters) for the next, or use tasks(). `phase`: 'TASK_PHASE_ACTIVE', 'TASK_PHASE_COMPLETED'
   * or 'TASK_PHASE_FAILED'; every label given must match; times are Dates.
   * @param {{pageSize?: number, pageToken?: string, phase?: string, caller?: string,
   *   labels?: Object<string, string>, createdAfter?: Date, createdBefore?: Date}} [filters]
   * @returns {Promise<{tasks: object[], nextPageToken: string}>}
   */
  listTasks(filters = {}) {
    const { createdAfter, createdBefore, ...rest } = filters;
    const request = { ...rest, createdAfter: timestamp(createdAfter), createdBefore: timestamp(createdBefore) };
    return this._unary(this.transcoding, 'ListTasks', request);
  }

  /** Every task listTasks(filters) selects, following the pages, as an async iterator. */
  async *tasks(filters = {}) {
    let pageToken = filters.pageToken || '';
    for (;;) {
      const page = await this.listTasks({ ...filters, pageToken });
      yield* page.tasks;
      if (!page.nextPageToken) return;
      pageToken = page.nextPageToken;
    }
  }

  /** @returns {Promise<{statuses: Object<string, object>, unknownTaskTokens: string[]}>} */
  getStatus(...taskTokens) {
    return this._unary(this.transcoding, 'GetStatus', { taskTokens });
  }

  /** The WatchStatus stream as an async iterator of {kind, status}. */
  watchStatus(taskToken, { timeoutMs } = {}) {
    const options = timeoutMs ? this._deadline(timeoutMs) : {};
    return this._stream(this.transcoding.WatchStatus({ taskToken }, this.metadata, options));
  }

  /**
   * Uploads a Buffer, a file path, or an (async) iterable of Buffers with `size`.
   * To resume an interrupted upload pass `resumeToken` (from createUpload, an earlier
   * answer, or the error's `metadata.resume_token`) and `offset` (getUpload's
   * `bytesStored`): Buffers and file paths are then sent from `offset` on; an iterable
   * must yield only the rest.
   * @returns {Promise<{sourceUri: string, bytesStored: string, resumeToken: string}>}
   */
  async uploadFile(taskToken, data, options = {}) {
    let { size, fileName = '' } = options;
    const start = Number(options.offset || 0);
    let chunks;
    if (Buffer.isBuffer(data)) {
      size = data.length;
      chunks = (function* () {
        for (let i = start; i < data.length; i += UPLOAD_CHUNK_BYTES) yield data.subarray(i, i + UPLOAD_CHUNK_BYTES);
      })();
    } else if (typeof data === 'string') {
      size = fs.statSync(data).size;
      fileName = fileName || path.basename(data);
      chunks = fs.createReadStream(data, { highWaterMark: UPLOAD_CHUNK_BYTES, start });
    } else {
      if (size === undefined) throw new TypeError('options.size is required when data is an iterable');
      chunks = data;
    }
    const metadata = { taskToken, fileName, size: String(size), contentType: options.contentType, uploadUrl: options.uploadUrl };
    if (options.resumeToken !== undefined) {
      metadata.resumeToken = options.resumeToken;
      metadata.offset = String(start);
    }
    let call;
    const answer = new Promise((resolve, reject) => {
      const deadline = options.timeoutMs ? this._deadline(options.timeoutMs) : {};
      call = this.transcoding.UploadFile(this.metadata, deadline, (err, response) => (err ? reject(wrap(err)) : resolve(response)));
    });
    try {
      call.write({ metadata });
      for await (const chunk of chunks) {
        if (!call.write({ chunk })) await once(call, 'drain'); // gRPC flow control
      }
      call.end();
    } catch (err) {
      call.cancel();
      await answer.catch(() => {});
      throw err;
    }
    return answer;
  }

  /**
   * Creates the task's upload without sending a byte; resolves with its resume token, so
   * the upload can be resumed even when the gateway dies mid-call.
   * @param {{fileName?: string, contentType?: string, uploadUrl?: string}} [options]
   * @returns {Promise<string>}
   */
  async createUpload(taskToken, size, options = {}) {
    const metadata = { taskToken, fileName: options.fileName || '', size: String(size), contentType: options.contentType, uploadUrl: options.uploadUrl };
    const answer = await this._unary(this.transcoding, 'CreateUpload', { metadata });
    return answer.resumeToken;
  }

  /** How many bytes of the upload the storage holds. @returns {Promise<{bytesStored: string, size?: string}>} */
  getUpload(taskToken, resumeToken) {
    return this._unary(this.transcoding, 'GetUpload', { taskToken, resumeToken });
  }

  // --- Transcoding helpers -------------------------------------------------------------

  /**
   * Polls GetStatus until the task is terminal; resolves with that status.
   * @param {{timeoutMs?: number, pollIntervalMs?: number, onChange?: (status: object) => void}} [options]
   */
  async followTask(taskToken, { timeoutMs = 600000, pollIntervalMs = 500, onChange } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      const status = (await this.getStatus(taskToken)).statuses[taskToken];
      if (status) {
        const seen = `${status.status}/${Math.round(status.percent || 0)}`;
        if (seen !== last && onChange) onChange(status);
        last = seen;
        if (TERMINAL_TASK_STATES.has(status.state) || status.error) return status;
      }
      if (Date.now() + pollIntervalMs > deadline) throw new Error(`task ${taskToken} did not finish within ${timeoutMs} ms`);
      await sleep(pollIntervalMs);
    }
  }

  /**
   * Yields the task's status at the snapshot and each change (not heartbeats, nor the STALE
   * marker of an upstream outage, which repeats the last status: read watchStatus() for
   * those and their `stale` field); ends after a terminal state.
   */
  async *watch(taskToken, { timeoutMs = 600000 } = {}) {
    for await (const message of this.watchStatus(taskToken, { timeoutMs })) {
      if (message.kind === 'WATCH_EVENT_KIND_HEARTBEAT' || message.kind === 'WATCH_EVENT_KIND_STALE') continue;
      yield message.status;
      if (TERMINAL_TASK_STATES.has(message.status.state) || message.status.error) return;
    }
  }

  // --- LiveStreaming -------------------------------------------------------------------

  async createStream(params = {}, { extraJson } = {}) {
    return (await this._unary(this.live, 'CreateStream', { params, extraJson })).stream;
  }
  async getStream(streamId) {
    return (await this._unary(this.live, 'GetStream', { streamId })).stream;
  }
  async listStreams() {
    return (await this._unary(this.live, 'ListStreams', {})).streams;
  }
  async updateStream(streamId, params = {}, { extraJson } = {}) {
    return (await this._unary(this.live, 'UpdateStream', { streamId, params, extraJson })).stream;
  }
  async deleteStream(streamId) {
    return (await this._unary(this.live, 'DeleteStream', { streamId })).status;
  }
  async startStream(streamId) {
    return (await this._unary(this.live, 'StartStream', { streamId })).stream;
  }
  async stopStream(streamId) {
    return (await this._unary(this.live, 'StopStream', { streamId })).stream;
  }
  async addPlaybackId(streamId, policy = 'public') {
    return (await this._unary(this.live, 'AddPlaybackId', { streamId, policy })).stream;
  }
  async removePlaybackId(streamId, playbackId) {
    return (await this._unary(this.live, 'RemovePlaybackId', { streamId, playbackId })).stream;
  }
  async addSimulcastTarget(streamId, url, streamKey) {
    return (await this._unary(this.live, 'AddSimulcastTarget', { streamId, url, streamKey })).stream;
  }
  async removeSimulcastTarget(streamId, targetId) {
    return (await this._unary(this.live, 'RemoveSimulcastTarget', { streamId, targetId })).stream;
  }
  /** The WatchStream stream as an async iterator of {kind, stream}; it ends after stopped/deleted. */
  watchStream(streamId, { timeoutMs } = {}) {
    const options = timeoutMs ? this._deadline(timeoutMs) : {};
    return this._stream(this.live.WatchStream({ streamId }, this.metadata, options));
  }
}

/** The address grpc-js connects to and the credentials it connects with. */
function channelSettings(target, { credentials, ca }) {
  const { address, tls } = parseTarget(target);
  if (credentials && ca) throw new TypeError('pass ca or credentials, not both (credentials may carry the CA)');
  if (tls === false && (credentials || ca)) {
    throw new TypeError(`gateway target ${JSON.stringify(target)} is plaintext (http://): use https:// with ca or credentials`);
  }
  if (credentials) return { address, credentials };
  if (tls || ca) return { address, credentials: grpc.credentials.createSsl(ca || null) };
  return { address, credentials: grpc.credentials.createInsecure() };
}

/** A Date as a google.protobuf.Timestamp (undefined stays unset). */
function timestamp(date) {
  if (date === undefined || date === null) return undefined;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError('times must be valid Dates');
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

/**
 * A fresh request id (a UUID v4) for transcode, createTask, startEncode and
 * startEncodeProfiles. Make one per submission and pass the same one again when repeating
 * that submission after a failure whose outcome is unknown (UNAVAILABLE,
 * DEADLINE_EXCEEDED, a dropped connection): within 24 h the gateway returns the first
 * call's answer instead of creating or starting another task. The client does not retry
 * by itself.
 */
function newRequestId() {
  return crypto.randomUUID();
}

function queryKind(query) {
  if (typeof query === 'string') return { queryJson: query };
  if (query && typeof query === 'object') return { query };
  throw new TypeError('query must be a TranscodingQuery object or a JSON string');
}

module.exports = { Client, GatewayError, decodeDetails, newRequestId, parseTarget, TERMINAL_TASK_STATES, grpc, v1 };
