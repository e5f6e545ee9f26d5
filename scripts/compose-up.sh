#!/usr/bin/env bash
# Brings up docker-compose.yaml's stack on a fresh machine: the base image where no registry
# can be reached, the release build, the potok image, `docker-compose up -d`, and a wait
# until every service is healthy. `scripts/compose-up.sh debug` uses a debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    bash scripts/base-image.sh
fi
bash scripts/image.sh "$profile" potok:latest
docker-compose up -d
services=(coordinator1 coordinator2 coordinator3 kafka-broker1 kafka-broker2 kafka-broker3 ksqldb-server)
deadline=$((SECONDS + 180))
for service in "${services[@]}"; do
    until [ "$(docker inspect -f '{{.State.Health.Status}}' "$service" 2>/dev/null)" = healthy ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "$service is not healthy after 3 minutes:" >&2
            docker-compose logs --tail 30 "$service" >&2
            exit 1
        fi
        sleep 1
    done
done
echo "Potok is up: brokers on localhost:9092,localhost:9093,localhost:9094, ksql on http://localhost:8088"
echo "docker exec -it kafka-broker1 bash    docker exec -it ksqldb-cli ksql http://ksqldb-server:8088"
