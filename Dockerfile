# Builds the host and every plugin; the runtime image holds the binary and the .wasm files.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev zlib1g-dev libssl-dev libsasl2-dev \
    && rustup target add wasm32-wasip2
WORKDIR /src
COPY . .
RUN make build plugins

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libcurl4 zlib1g libssl3 libsasl2-2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/host /usr/local/bin/host
COPY --from=build /src/target/wasm32-wasip2/release/*.wasm /plugins/
ENTRYPOINT ["host"]
