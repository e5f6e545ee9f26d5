# The Potok image: every binary, bash and a small entrypoint on a minimal Debian, no
# toolchain. The binaries come from the host's build (`cargo build --release`, then
# `scripts/image.sh` copies and strips them into target/image); BINARIES says where.
# BASE defaults to Debian's public image; where no registry can be reached,
# scripts/base-image.sh builds potok-base:bookworm with debootstrap.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ARG BINARIES=target/image
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="potok" \
      org.opencontainers.image.description="Kafka-compatible broker, metadata quorum, ksql server, web console and operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/potok-dev/potok"

RUN groupadd --gid 1000 potok \
    && useradd --uid 1000 --gid potok --home-dir /var/lib/potok --shell /bin/bash potok \
    && mkdir -p /var/lib/potok /etc/potok \
    && chown potok:potok /var/lib/potok

COPY ${BINARIES}/ /usr/local/bin/
COPY docker/potok-entrypoint docker/potok-healthcheck /usr/local/bin/
COPY docker/server.properties docker/ksql-server.properties /etc/potok/

# Kafka's tools answer to their .sh names too, as in Apache Kafka's distribution.
RUN for tool in kafka-topics kafka-configs kafka-console-producer kafka-console-consumer \
        kafka-consumer-groups kafka-reassign-partitions; do ln -s "$tool" "/usr/local/bin/$tool.sh"; done

USER potok
WORKDIR /var/lib/potok
VOLUME /var/lib/potok
EXPOSE 9092 9093 8088 8282 9308
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=6 CMD ["potok-healthcheck"]
ENTRYPOINT ["potok-entrypoint"]
CMD ["potok-broker"]
