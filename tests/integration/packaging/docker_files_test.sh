#!/usr/bin/env bash
# docker-compose.yml validates (Debian's docker-compose v1 needs no engine), and every build
# step of the Dockerfile (its RUN commands) is one the README gives, so the image is built the
# way a developer builds.
set -euo pipefail
root="$1"
cd "$root"
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v docker-compose >/dev/null || fail "docker-compose is not installed (scripts/bootstrap installs it)"
docker-compose -f docker-compose.yml config -q || fail "docker-compose.yml does not validate"
services=$(docker-compose -f docker-compose.yml config --services | sort | tr '\n' ' ')
for s in kafka postgres migrate dispatcher; do
  case " $services " in *" $s "*) ;; *) fail "service $s missing (have: $services)" ;; esac
done
# The observability profile: Prometheus and Grafana, provisioned from files of this repository.
all_services=$(docker-compose -f docker-compose.yml --profile observability config --services | sort | tr '\n' ' ')
for s in prometheus grafana; do
  case " $all_services " in *" $s "*) ;; *) fail "service $s missing from --profile observability" ;; esac
done
while IFS= read -r src; do
  [ -e "$src" ] || fail "docker-compose.yml mounts $src, which does not exist"
done < <(sed -n 's/^ *- \(\.\/[^:]*\):.*/\1/p' docker-compose.yml)
# Healthchecks gate the dispatcher.
resolved=$(docker-compose -f docker-compose.yml config)
grep -q "condition: service_healthy" <<< "$resolved" || fail "no depends_on health conditions"

# The images run the versions the tests pin (tools/kafka/pom.xml, tools/frp/go.mod).
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' tools/kafka/pom.xml)
frp_version=$(awk '$1 == "require" && $2 == "github.com/fatedier/frp" { sub(/^v/, "", $3); print $3 }' tools/frp/go.mod)
grep -q "image: apache/kafka:$kafka_version\$" docker-compose.yml ||
  fail "docker-compose.yml's Kafka image is not apache/kafka:$kafka_version (tools/kafka/pom.xml)"
grep -q "image: snowdreamtech/frps:$frp_version\$" docker-compose.yml ||
  fail "docker-compose.yml's frps image is not at frp $frp_version (tools/frp/go.mod)"

steps=0
while IFS= read -r cmd; do
  [ -z "$cmd" ] && continue
  # A RUN line may chain commands with &&: each must appear in the README.
  IFS='&' read -ra parts <<< "${cmd//&&/&}"
  for part in "${parts[@]}"; do
    part=$(echo "$part" | sed 's/^ *//; s/ *$//')
    [ -z "$part" ] && continue
    grep -qF -- "$part" README.md || fail "Dockerfile step '$part' is not in README.md"
    steps=$((steps + 1))
  done
done < <(awk '/^FROM /{stage++} stage==1 && /^RUN /{sub(/^RUN /,""); print}' Dockerfile)
[ "$steps" -ge 3 ] || fail "found only $steps build steps in the Dockerfile's build stage"
grep -q "scripts/bootstrap" Dockerfile || fail "the Dockerfile does not use scripts/bootstrap"
echo "PASS: compose validates ($services); Kafka $kafka_version and frp $frp_version as pinned; $steps Dockerfile build steps match the README"
