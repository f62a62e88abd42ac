# Sourced by scripts: where the real test peers (Apache Kafka's broker, frpc/frps) live, and
# at which pinned versions. The versions are read from the files that pin them
# (tools/kafka/pom.xml, tools/frp/go.mod); the cache is outside the build tree, so a clean build
# or a fresh clone of the repository fetches nothing again.
#
#   EDGELINK_CACHE  default ${XDG_CACHE_HOME:-$HOME/.cache}/edgelink

_peers_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
EDGELINK_CACHE="${EDGELINK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/edgelink}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$_peers_root/tools/kafka/pom.xml")"
FRP_VERSION="$(awk '$1 == "require" && $2 == "github.com/fatedier/frp" { print $3 }' "$_peers_root/tools/frp/go.mod")"
KAFKA_LIB="$EDGELINK_CACHE/kafka-$KAFKA_VERSION/lib"
FRP_BIN="$EDGELINK_CACHE/frp-$FRP_VERSION/bin"
export EDGELINK_CACHE
