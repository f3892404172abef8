# The octofleet image: the `octofleet` binary on a Debian runtime that can also serve as an
# Octopus execution container (Calamari runs inside it: glibc, bash, openssl, and .NET's
# globalization-invariant mode instead of ICU; see below).
#
#   podman build -t octofleet:dev .            # or: docker build -t octofleet:dev .
#
# BINARY_SOURCE picks the stage the binary comes from:
#   builder   (default) compiles it with the official Rust image;
#   prebuilt  copies target/image/octofleet from the build context, a binary built on the host
#             with the same command as the builder (`cargo build --profile dist --locked -p
#             octofleet --bin octofleet`, glibc ≤ bookworm's), for offline builds and our tests.
# Either way the runtime stage below is the same, so the image the tests check is the one users get.
ARG BINARY_SOURCE=builder

FROM docker.io/library/rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The `dist` profile (Cargo.toml): the size-optimised, fat-LTO build the image ships.
RUN cargo build --profile dist --locked -p octofleet --bin octofleet \
    && install -D -m 0755 target/dist/octofleet /out/octofleet

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
# bash runs the step template's script; openssl is what Calamari's Bash bootstrap decrypts
# variables and encodes service messages with (and its libssl3 is what .NET's cryptography
# loads); ca-certificates lets Calamari and other tools in the step trust public servers. The rest
# of what Calamari's self-contained .NET 8 needs (libc6, libgcc-s1, libstdc++6, zlib1g: the list
# in Microsoft's runtime-deps image for bookworm-slim, dotnet/dotnet-docker
# src/runtime-deps/8.0/bookworm-slim/amd64/Dockerfile) is in the base already, except ICU.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        bash openssl ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*
# No ICU (libicu72, 36 MB installed, over a quarter of the image): .NET on Linux fails to start
# without it unless globalization-invariant mode is on (dotnet/runtime
# docs/design/features/globalization-invariant-mode.md), and this variable turns it on. Calamari
# (net8.0) leaves the mode unset, so the variable decides; in that mode only named cultures
# ("en-US") fail, and neither Calamari nor Octostache creates one (OctopusDeploy/Calamari and
# OctopusDeploy/Octostache use CultureInfo.InvariantCulture and CurrentCulture only). Steps of
# your own that need culture data: install libicu72 and set the variable to 0 in an image FROM
# this one.
ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
COPY --from=binary /out/octofleet /usr/local/bin/octofleet
# Calamari does not read .bashrc: PATH must come from the image.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# No ENTRYPOINT: Octopus runs Calamari in an execution container by passing a command, and only
# servers from 2021.2.124 on replace an image's entrypoint (OctopusDeploy/Issues#6788); its docs
# ask image authors for none. So the templates work on every 2021.2 server, and `docker run`
# users name the binary: `docker run IMAGE octofleet create-space`.
CMD ["octofleet", "--help"]
