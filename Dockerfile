# The cloud dispatcher image, built exactly as README.md builds it: scripts/bootstrap --no-peers
# installs the Debian packages (the image needs no test peers), the "release" CMake preset builds (a test,
# tests/integration/packaging/docker_files_test.sh, checks these steps match the README's).
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/bootstrap --no-peers
RUN cmake --preset release && cmake --build --preset release --target cloud-dispatcher

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends librdkafka1 libpqxx-6.4 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libcivetweb1 libsodium23 libssh-4 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin edgelink \
 && install -d -m 0700 -o edgelink /etc/cloud-dispatcher/keys
COPY --from=build /src/build-release/cloud-dispatcher/cloud-dispatcher /usr/bin/cloud-dispatcher
USER edgelink
ENTRYPOINT ["cloud-dispatcher"]
CMD ["--help"]
