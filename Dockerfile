# cpppo-rs in a container: build, then a small runtime image that runs the simulator.
#
#   docker build -t cpppo-rs .                   (or: podman build -t cpppo-rs .)
#   docker run --rm -p 44818:44818 -p 44818:44818/udp cpppo-rs                  # demo PLC
#   docker run --rm -p 44818:44818 cpppo-rs enip server SCADA=INT[1000] FLOAT=REAL
#   docker run --rm -p 502:502 cpppo-rs modbus sim -a :502 40001-40100=0
#
# A fleet (`net fleet --tap`) needs --cap-add NET_ADMIN --device /dev/net/tun; see compose.yaml.
# Where base images cannot be pulled, scripts/image-from-scratch builds an image FROM scratch
# out of a locally built binary instead.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin cpppo \
 && objcopy --strip-debug target/release/cpppo /cpppo

FROM debian:bookworm-slim
# iproute2: `cpppo net fleet --tap` gives its TAP an address and a route with `ip`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /cpppo /usr/local/bin/cpppo
# EtherNet/IP (TCP and UDP), implicit I/O, Modbus/TCP.
EXPOSE 44818/tcp 44818/udp 2222/udp 502/tcp
ENTRYPOINT ["cpppo"]
CMD ["enip", "server"]
