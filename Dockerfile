# Palisade's two images, for users with Docker (or any BuildKit builder):
#
#   docker build --target palisade-controller -t palisade-controller:dev .
#   docker build --target palisade-enforcer   -t palisade-enforcer:dev .
#
# `make images` builds the same images without Docker, offline, as OCI image layouts
# (hack/imagebuild); hack/imagebuild/images/dockerfile_test.go checks that this file's targets,
# users and entrypoints match what it builds. See docs/images.md.

ARG GO_VERSION=1.26
ARG DEBIAN_RELEASE=bookworm

# Both binaries, static (CGO_ENABLED=0) and without build paths (-trimpath).
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/ ./cmd/palisade-controller ./cmd/palisade-enforcer

# The controller: the static binary on distroless static, as the numeric non-root user 65532.
FROM gcr.io/distroless/static-debian12:nonroot AS palisade-controller
ARG VERSION=dev
LABEL org.opencontainers.image.title="palisade-controller" \
      org.opencontainers.image.description="Palisade control plane: admission webhooks, their certificate, the rollout operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/palisade-dev/palisade" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/palisade-controller /palisade-controller
USER 65532:65532
ENTRYPOINT ["/palisade-controller"]

# The enforcer: Debian slim with iptables (nf_tables backend, Debian's default), ipset and
# conntrack. It runs as root and needs the capabilities NET_ADMIN and NET_RAW, which the chart's
# DaemonSet grants (it does not run privileged).
FROM debian:${DEBIAN_RELEASE}-slim AS palisade-enforcer
ARG VERSION=dev
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ipset conntrack \
 && rm -rf /var/lib/apt/lists/*
LABEL org.opencontainers.image.title="palisade-enforcer" \
      org.opencontainers.image.description="Palisade node enforcer: programs iptables, ipset and conntrack on each node; run as root with NET_ADMIN and NET_RAW" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/palisade-dev/palisade" \
      org.opencontainers.image.licenses="Apache-2.0" \
      dev.palisade.image.capabilities="NET_ADMIN,NET_RAW"
COPY --from=build /out/palisade-enforcer /palisade-enforcer
USER 0:0
ENTRYPOINT ["/palisade-enforcer"]
