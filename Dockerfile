# The octofleet image: the `octofleet` binary on a Debian runtime that can also serve as an
# Octopus execution container (Calamari runs inside it: glibc, bash, openssl, ICU).
#
#   podman build -t octofleet:dev .            # or: docker build -t octofleet:dev .
#
# BINARY_SOURCE picks the stage the binary comes from:
#   builder   (default) compiles it with the official Rust image;
#   prebuilt  copies target/image/octofleet from the build context, a binary built on the host
#             (`cargo build --release`, glibc ≤ bookworm's), for offline builds and our tests.
# Either way the runtime stage below is the same, so the image the tests check is the one users get.
ARG BINARY_SOURCE=builder

FROM docker.io/library/rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin octofleet \
    && install -D -m 0755 target/release/octofleet /out/octofleet

FROM scratch AS prebuilt
COPY target/image/octofleet /out/octofleet

# A named alias for the chosen stage: COPY --from cannot take a build argument everywhere,
# FROM can.
FROM ${BINARY_SOURCE} AS binary

FROM docker.io/library/debian:bookworm-slim AS runtime
ARG OCTOFLEET_VERSION=0.1.0
LABEL org.opencontainers.image.title="octofleet" \
      org.opencontainers.image.description="Run a fleet of managed Octopus Deploy spaces from template projects; also an Octopus execution container for the octofleet step templates" \
      org.opencontainers.image.source="https://github.com/octofleet/octofleet" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${OCTOFLEET_VERSION}"
# bash runs the step template's script, openssl is what Calamari's Bash bootstrap decrypts
# variables and encodes service messages with, libicu72 is what .NET (Calamari) needs;
# ca-certificates lets Calamari and other tools in the step trust public servers.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bash openssl ca-certificates libicu72 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
COPY --from=binary /out/octofleet /usr/local/bin/octofleet
# Calamari does not read .bashrc: PATH must come from the image.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# No ENTRYPOINT: Octopus runs Calamari in an execution container by passing a command, and only
# servers from 2021.2.124 on replace an image's entrypoint (OctopusDeploy/Issues#6788); its docs
# ask image authors for none. So the templates work on every 2021.2 server, and `docker run`
# users name the binary: `docker run IMAGE octofleet create-space`.
CMD ["octofleet", "--help"]
