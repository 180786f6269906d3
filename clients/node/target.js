'use strict';
// The gateway address a Client is given, turned into what @grpc/grpc-js connects to.
// grpc-js takes host:port (and its own dns:, ipv4:, ipv6:, unix: targets) but has no
// http:// or https:// scheme: given one it resolves the whole string as a host name and
// never connects. So URL-style targets are mapped here, and say whether TLS is meant.

const DEFAULT_PORTS = { 'http:': 80, 'https:': 443 };

/**
 * Maps `http://host:port` (plaintext) and `https://host:port` (TLS) to `host:port`;
 * anything else (`host:port`, `[::1]:port`, `dns:///host:port`...) is passed to grpc-js as
 * is. A URL without a port gets its scheme's (80, 443); a URL with a path, query,
 * fragment or user name is refused (TypeError), as gRPC has no use for them.
 * @param {string} target
 * @returns {{address: string, tls: boolean|undefined}} tls is true for https://, false for
 *   http://, undefined when the target does not say.
 */
function parseTarget(target) {
  if (typeof target !== 'string' || target === '') throw new TypeError('the gateway target must be a non-empty string');
  if (!/^https?:\/\//i.test(target)) return { address: target, tls: undefined };
  let url;
  try {
    url = new URL(target);
  } catch {
    throw new TypeError(`gateway target ${JSON.stringify(target)} is not a valid URL`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || target.includes('@')) {
    throw new TypeError(`gateway target ${JSON.stringify(target)}: only ${url.protocol}//host:port is accepted`);
  }
  if (!url.hostname) throw new TypeError(`gateway target ${JSON.stringify(target)} has no host`);
  // url.hostname keeps an IPv6 literal's brackets; url.port is '' for the scheme's default.
  const port = url.port || String(DEFAULT_PORTS[url.protocol]);
  return { address: `${url.hostname}:${port}`, tls: url.protocol === 'https:' };
}

module.exports = { parseTarget };
