# iotledger's container image: a static binary (CGO_ENABLED=0) on Alpine,
# whose shell and wget the health check uses, run as a user of its own,
# with the node's home as a volume.
#
# Build it from the repository's top folder. A copy of the tree holds no
# .git, so the version, commit and build time come in as build arguments
# (`iotledger version` prints them; package buildinfo says how):
#
#   docker build -t iotledger \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#
# Run a node (README, "Run it in a container"):
#
#   docker run --rm -v iotledger:/var/lib/iotledger iotledger init
#   docker run -d --name iotledger -v iotledger:/var/lib/iotledger \
#     -p 127.0.0.1:8080:8080 -p 1883:1883 -p 26656:26656 iotledger
#
# The image listens on all of the container's addresses (the environment
# below overrides iotledger.toml and config.toml): publish only the ports
# you mean to open, and set [api] tls_cert and tls_key (or put a TLS proxy
# in front) before the API faces a network. deploy/compose/ runs four
# validators and Prometheus from this image.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
# Modules first, so that a change to the code reuses their layer.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
ARG COMMIT=
ARG BUILD_TIME=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/iotledger/iotledger/internal/buildinfo.version=${VERSION} \
        -X github.com/iotledger/iotledger/internal/buildinfo.commit=${COMMIT} \
        -X github.com/iotledger/iotledger/internal/buildinfo.buildTime=${BUILD_TIME}" \
      -o /out/iotledger ./cmd/iotledger

FROM alpine:3.22
RUN addgroup -S -g 10001 iotledger \
 && adduser -S -D -H -u 10001 -G iotledger -h /var/lib/iotledger -s /sbin/nologin iotledger \
 && install -d -m 0700 -o iotledger -g iotledger /var/lib/iotledger
COPY --from=build /out/iotledger /usr/local/bin/iotledger
COPY LICENSE /usr/share/doc/iotledger/LICENSE
USER 10001:10001
# IOTLEDGER_<SECTION>_<KEY> sets any setting of iotledger.toml;
# IOTLEDGER_P2P_ADDR overrides config.toml's p2p.laddr. CometBFT's RPC
# stays on the container's loopback.
ENV IOTLEDGER_HOME=/var/lib/iotledger \
    IOTLEDGER_API_ADDR=0.0.0.0:8080 \
    IOTLEDGER_MQTT_ADDR=0.0.0.0:1883 \
    IOTLEDGER_P2P_ADDR=0.0.0.0:26656
VOLUME /var/lib/iotledger
# API (with the dashboard and /metrics), MQTT, CometBFT p2p.
EXPOSE 8080 1883 26656
# /healthz answers while the process serves; the port follows
# IOTLEDGER_API_ADDR. An API with TLS needs its own check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${IOTLEDGER_API_ADDR##*:}/healthz" || exit 1
ENTRYPOINT ["iotledger"]
CMD ["start"]
