# simweb: multi-stage build. Stage 1 compiles the `simweb` binary and runs `make setup`
# (pinned, hash-checked Python runtimes and the sandbox components); stage 2 is a slim
# runtime that needs no network at all: the corpus lives on a volume.
#
# No Docker engine runs on the machines this project is developed on, so this file is
# validated structurally by cli/tests/it/docker_files.rs, not by building it there.

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ENV SIMWEB_HOME=/opt/simweb SIMWEB_CACHE=/opt/simweb-cache
RUN cargo build --release --locked -p simweb --bin simweb \
 && install -m 0755 target/release/simweb /usr/local/bin/simweb
RUN bash scripts/setup.sh && simweb sandbox prepare

FROM debian:bookworm-slim AS runtime
RUN useradd --system --home /data simweb && mkdir -p /data && chown simweb /data
COPY --from=build /usr/local/bin/simweb /usr/local/bin/simweb
COPY --from=build /opt/simweb/sandbox /opt/simweb/sandbox
COPY --from=build /opt/simweb-cache /opt/simweb-cache
ENV SIMWEB_HOME=/opt/simweb SIMWEB_CACHE=/opt/simweb-cache SIMWEB_LOG=info
USER simweb
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["simweb"]
CMD ["serve", "--data", "/data/corpus", "--addr", "0.0.0.0:8080", "--state-dir", "/data/state"]
