'use strict';
// Decodes the google.rpc.Status the gateway sends in the `grpc-status-details-bin`
// trailer into a GatewayError: grpc-js exposes only the raw bytes.
const path = require('node:path');
const protobuf = require('protobufjs');
const grpc = require('@grpc/grpc-js');

const root = new protobuf.Root();
// protobufjs resolves google/protobuf/{any,duration}.proto from its bundled copies.
root.loadSync(
  ['status.proto', 'error_details.proto'].map((f) => path.join(__dirname, 'protos', 'google', 'rpc', f)),
  { keepCase: false },
);
const Status = root.lookupType('google.rpc.Status');
const toObject = { longs: Number, enums: String, defaults: true, arrays: true, objects: true };

/** Seconds of a google.protobuf.Duration object. */
function seconds(duration) {
  return Number(duration.seconds || 0) + (duration.nanos || 0) / 1e9;
}

/**
 * A failed gateway call.
 * @property {number} code gRPC status code (grpc.status.*).
 * @property {string} codeName e.g. "INVALID_ARGUMENT".
 * @property {string} details the status message.
 * @property {string|null} reason ErrorInfo.reason, e.g. "QENCODE_SYSTEM_BUSY".
 * @property {string|null} domain ErrorInfo.domain ("qencode.com" or "qencode-gateway").
 * @property {Object<string, string>} errorMetadata ErrorInfo.metadata.
 * @property {{field: string, description: string}[]} fieldViolations BadRequest's violations.
 * @property {number|null} retryDelay RetryInfo.retry_delay in seconds.
 * @property {{type: string, value: object}[]} decodedDetails every detail, decoded when known.
 * @property {Error} cause the grpc-js error.
 */
class GatewayError extends Error {
  constructor(error) {
    const codeName = Object.keys(grpc.status).find((k) => grpc.status[k] === error.code) || 'UNKNOWN';
    super(`${codeName}: ${error.details || error.message}`, { cause: error });
    this.name = 'GatewayError';
    this.code = error.code;
    this.codeName = codeName;
    this.details = error.details || '';
    this.metadata = error.metadata;
    this.reason = null;
    this.domain = null;
    this.errorMetadata = {};
    this.fieldViolations = [];
    this.retryDelay = null;
    this.decodedDetails = decodeDetails(error);
    for (const { type, value } of this.decodedDetails) {
      if (type === 'google.rpc.ErrorInfo') {
        this.reason = value.reason;
        this.domain = value.domain;
        this.errorMetadata = value.metadata;
      } else if (type === 'google.rpc.BadRequest') {
        this.fieldViolations.push(...value.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
      } else if (type === 'google.rpc.RetryInfo' && value.retryDelay) {
        this.retryDelay = seconds(value.retryDelay);
      }
    }
  }
}

/** The trailer's details as [{type, value}], empty when there is no trailer. */
function decodeDetails(error) {
  const raw = error.metadata && error.metadata.get('grpc-status-details-bin');
  if (!raw || raw.length === 0) return [];
  const status = Status.decode(raw[0]);
  return status.details.map((any) => {
    const type = any.type_url !== undefined ? any.type_url : any.typeUrl;
    const name = type.slice(type.lastIndexOf('/') + 1);
    const messageType = root.lookup(name);
    if (!(messageType instanceof protobuf.Type)) return { type: name, value: any.value };
    return { type: name, value: messageType.toObject(messageType.decode(any.value), toObject) };
  });
}

/** Wraps grpc-js errors (anything with a numeric `code`); passes other errors through. */
function wrap(error) {
  return error && typeof error.code === 'number' && !(error instanceof GatewayError) ? new GatewayError(error) : error;
}

module.exports = { GatewayError, wrap, decodeDetails };
