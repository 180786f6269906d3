# syntax=docker/dockerfile:1
#
# qencode-gateway container image.
#
#   docker build -t qencode-gateway .
#
# Two stages: the build stage compiles the release binary on Debian 12 (bookworm); the
# runtime stage is distroless cc-debian12 (same glibc as the build stage, CA certificates
# for the rustls platform verifier, no shell, no package manager) with only the binary.
# Kubernetes manifests and how to run it: deploy/README.md.

FROM rust:1-bookworm AS build
# Cargo features of the binary: production images leave the sandbox out; the local
# compose stack adds it (`FEATURES=mimalloc,sandbox`) so it starts with no key.
ARG FEATURES=mimalloc
WORKDIR /src
# Only the files the build reads, so a change to the README, the deploy manifests or the
# Python examples does not invalidate this layer. benches/ (small files) keeps the
# bench targets Cargo.toml declares resolvable, so no cargo version trips over them;
# crates/ holds the workspace's other crates (the proto crate the gateway builds on);
# migrations/ holds the ledger's SQL, compiled into the binary (src/ledger/schema.rs).
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto/ proto/
COPY src/ src/
COPY migrations/ migrations/
COPY benches/ benches/
COPY crates/ crates/
# BuildKit cache mounts keep the crates.io registry and the target directory between
# builds, so a source change recompiles the gateway, not its ~300 dependencies. The
# target directory is a cache mount, so the binary is copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin qencode-gateway --no-default-features --features "$FEATURES" \
    && install -D -m 0755 target/release/qencode-gateway /out/qencode-gateway
# The ledger's folder, owned by the runtime user: the runtime image has no shell to
# create it, so it is made here and copied with its owner. It is copied as the content
# of /out/state, so that COPY --chown owns the folder itself, not only what is in it.
RUN install -d -o 65532 -g 65532 -m 0750 /out/state/qencode-gateway

# The `nonroot` variant runs as uid/gid 65532; USER repeats it numerically so that
# Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="qencode-gateway" \
      org.opencontainers.image.description="gRPC gateway to Qencode's Transcoding and Live Streaming APIs" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/qencode-gateway /usr/local/bin/qencode-gateway
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/
# Defaults for a container: JSON logs for log collectors, the three listeners on all
# interfaces (set GATEWAY_LISTEN=[::]:50051, GATEWAY_HTTP_LISTEN=[::]:8080 and
# GATEWAY_ADMIN_LISTEN=[::]:9090 on IPv6-only clusters). The image is built without the
# `sandbox` feature: pass QENCODE_API_KEY at run time (a Kubernetes Secret); started
# without one, it exits 64 saying how to point it at a standalone sandbox instead.
# The ledger (README, "Ledger") is a SQLite file in the volume below, the one place the
# gateway writes, so the root filesystem can stay read-only; a fleet sets
# GATEWAY_DATABASE_URL=postgres://… instead (or `off` for a pure proxy).
ENV GATEWAY_LOG_FORMAT=json \
    GATEWAY_DATABASE_URL=sqlite:///var/lib/qencode-gateway/ledger.db \
    GATEWAY_LISTEN=0.0.0.0:50051 \
    GATEWAY_HTTP_LISTEN=0.0.0.0:8080 \
    GATEWAY_ADMIN_LISTEN=0.0.0.0:9090 \
    RUST_LOG=info
USER 65532:65532
# A new volume starts as a copy of the folder above, so it is the runtime user's too.
# Without a volume mounted here the ledger lives in the container's writable layer and
# goes with the container.
VOLUME ["/var/lib/qencode-gateway"]
# 50051: gRPC (services, grpc.health.v1, reflection). 8080: HTTP, only Qencode's
# callbacks under /callbacks/ (the port an ingress exposes). 9090: admin HTTP
# (/metrics, /healthz, /readyz), for Prometheus and probes only.
EXPOSE 50051 8080 9090
# SIGTERM starts the graceful shutdown: health NOT_SERVING, watch streams end with
# UNAVAILABLE, in-flight calls drain. No HEALTHCHECK: distroless has no client to run
# one, and Kubernetes ignores it; probe gRPC health or /readyz from outside instead.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/qencode-gateway"]
