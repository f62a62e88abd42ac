// The chaos run's invariants, read after the quiet drain from PostgreSQL, the real agents' frpc
// and the process table.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>

#include "chaos.h"
#include "db/pg.h"

namespace edgelink::bench::chaos {
namespace {

using namespace edgelink::testing;
using dispatcher::pg::Connection;
using dispatcher::pg::Rows;

Rows query(Connection& db, const std::string& sql, const dispatcher::pg::Params& params = {}) {
  auto rows = db.exec(sql, params);
  if (!rows) {
    throw std::runtime_error(sql + ": " + rows.error().describe());
  }
  return std::move(*rows);
}

void violate(Verdict& v, const std::string& what) {
  ++v.violations;
  v.details.push_back(what);
}

/// Every published request stored once and answered, in a state its edge can give.
void checkRequests(Connection& db, const std::vector<Published>& published, Verdict& v) {
  std::map<std::string, std::pair<std::string, int>> stored;  // id -> state, code
  Rows rows = query(db, "SELECT id, state, coalesce(status_code, 0) FROM request_status");
  for (int i = 0; i < rows.size(); ++i) {
    stored[rows.str(i, 0)] = {rows.str(i, 1), static_cast<int>(rows.int64(i, 2))};
  }
  for (const Published& p : published) {
    ++v.published;
    if (p.delivered != 1) {
      ++v.refused;
      continue;
    }
    auto it = stored.find(p.id);
    const std::string what = p.type + " " + p.id + " to " + p.edge;
    if (it == stored.end()) {
      ++v.lost;
      violate(v, what + ": delivered to Kafka, never stored");
      continue;
    }
    ++v.stored;
    const auto& [state, code] = it->second;
    if (state == "pending" || state == "timeout") {
      ++v.lost;
      violate(v, what + ": stored, never answered (" + state + ")");
      continue;
    }
    ++v.answered;
    // A simulated board does everything it is asked; a real agent may refuse a start (a port
    // frps holds for a session being replaced) but answers pings and system_info.
    const bool mustSucceed =
        p.edge.rfind("sim", 0) == 0 || p.type == "ping" || p.type == "system_info";
    if (mustSucceed && state != "succeeded" && state != "stale") {
      violate(v, what + ": answered " + std::to_string(code) + " (" + state + ")");
    }
  }
}

/// The same Kafka message stored twice (any table), the same event id stored twice.
void checkDuplicates(Connection& db, Verdict& v) {
  Rows offsets = query(
      db,
      "SELECT edge_id, kafka_offset, count(*) FROM (SELECT edge_id, kafka_offset FROM requests"
      " UNION ALL SELECT edge_id, kafka_offset FROM responses UNION ALL SELECT edge_id,"
      " kafka_offset FROM events) o WHERE kafka_offset IS NOT NULL GROUP BY 1, 2"
      " HAVING count(*) > 1");
  for (int i = 0; i < offsets.size(); ++i) {
    v.duplicated += static_cast<size_t>(offsets.int64(i, 2) - 1);
    violate(v, "edge " + offsets.str(i, 0) + ": offset " + offsets.str(i, 1) + " stored " +
                   offsets.str(i, 2) + " times");
  }
  Rows events = query(db,
                      "SELECT edge_id, id, type, count(*) FROM events GROUP BY 1, 2, 3"
                      " HAVING count(*) > 1");
  for (int i = 0; i < events.size(); ++i) {
    v.duplicated += static_cast<size_t>(events.int64(i, 3) - 1);
    violate(v, "edge " + events.str(i, 0) + ": event " + events.str(i, 2) + " " + events.str(i, 1) +
                   " published " + events.str(i, 3) + " times");
  }
}

/// What an edge stored from one partition, in Kafka order: each message's offset, table and type,
/// an event's seq, and the transaction that inserted the row (xmin). An order violation carries
/// it: a late insert shows as a later transaction, a reused offset as a message missing or stored
/// twice at one offset.
std::string edgeHistory(Connection& db, const std::string& edge, const std::string& partition) {
  const std::string where = " WHERE edge_id = $1 AND kafka_partition = $2::int";
  Rows rows = query(db,
                    "SELECT kafka_offset, what, seq, xid FROM (SELECT kafka_offset, 'request ' ||"
                    " type AS what, '' AS seq, xmin::text AS xid FROM requests" +
                        where +
                        " UNION ALL SELECT kafka_offset, 'response ' || coalesce(type, '-'), '',"
                        " xmin::text FROM responses" +
                        where +
                        " UNION ALL SELECT kafka_offset, 'event ' || type, seq::text, xmin::text"
                        " FROM events" +
                        where + ") m ORDER BY kafka_offset LIMIT 60",
                    {edge, partition});
  std::string out;
  for (int i = 0; i < rows.size(); ++i) {
    out += (out.empty() ? "" : ", ") + rows.str(i, 0) + " " + rows.str(i, 1) +
           (rows.str(i, 2).empty() ? "" : " seq " + rows.str(i, 2)) + " xid " + rows.str(i, 3);
  }
  return out;
}

/// Events stored in their edge's order (per partition: the order is Kafka's); no port held by
/// two live sessions; no session left opening once its start was answered.
void checkOrderAndPorts(Connection& db, Verdict& v) {
  Rows order = query(db,
                     "SELECT edge_id, kafka_offset, prev, kafka_partition FROM (SELECT edge_id,"
                     " kafka_partition, kafka_offset, lag(kafka_offset) OVER (PARTITION BY"
                     " edge_id, kafka_partition ORDER BY seq) AS prev FROM events) e"
                     " WHERE prev > kafka_offset LIMIT 20");
  for (int i = 0; i < order.size(); ++i) {
    violate(v, "edge " + order.str(i, 0) + ": event at offset " + order.str(i, 1) +
                   " stored after the one at offset " + order.str(i, 2) + " (partition " +
                   order.str(i, 3) +
                   ", in Kafka order: " + edgeHistory(db, order.str(i, 0), order.str(i, 3)) + ")");
  }
  Rows ports = query(db,
                     "SELECT value, string_agg(edge_id || ' session ' || session_id, ', ')"
                     " FROM sessions, jsonb_each_text(services) WHERE ended_at IS NULL"
                     " AND value <> '0' GROUP BY 1 HAVING count(*) > 1");
  for (int i = 0; i < ports.size(); ++i) {
    violate(v, "port " + ports.str(i, 0) + " held by live sessions " + ports.str(i, 1));
  }
  Rows opening = query(db,
                       "SELECT s.edge_id, s.request_id, r.state FROM sessions s JOIN"
                       " request_status r ON r.edge_id = s.edge_id AND r.id = s.request_id"
                       " WHERE s.state = 'opening' AND r.state <> 'pending' LIMIT 20");
  for (int i = 0; i < opening.size(); ++i) {
    violate(v, "edge " + opening.str(i, 0) + ": session of start " + opening.str(i, 1) +
                   " still opening, its start " + opening.str(i, 2));
  }
}

/// An extension (a start with the live session's ports) never replaces the session it extended.
/// (An extension audited while its session was live may still open a session of its own, rightly,
/// when the session ended before the extension was answered.)
void checkExtensions(Connection& db, Verdict& v) {
  Rows rows = query(
      db,
      "SELECT a.edge_id, a.session_id, a.request_id, n.session_id, coalesce(s.end_detail, '-'),"
      " s.services::text, n.services::text FROM session_audit a JOIN sessions s"
      " ON s.session_id = a.session_id JOIN sessions n ON n.edge_id = a.edge_id"
      " AND n.request_id = a.request_id WHERE a.action = 'extend' AND s.end_reason = 'replaced'"
      " AND n.session_id = (SELECT min(m.session_id) FROM sessions m WHERE m.edge_id = a.edge_id"
      " AND m.session_id > a.session_id) LIMIT 20");
  for (int i = 0; i < rows.size(); ++i) {
    violate(v, "edge " + rows.str(i, 0) + ": session " + rows.str(i, 1) + " " + rows.str(i, 5) +
                   " ended as replaced (" + rows.str(i, 4) + ") by its own extension " +
                   rows.str(i, 2) + ", now session " + rows.str(i, 3) + " " + rows.str(i, 6));
  }
}

/// ppid of `pid` from /proc (0 when gone).
int parentOf(int pid) {
  const std::string stat = readText("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 4 > stat.size()) {
    return 0;
  }
  return std::atoi(stat.c_str() + close + 4);  // ") S ppid"
}

/// One pass over the real agents: what disagrees between their sessions and their frpc, and
/// frpc on an agent's config that the agent did not start (a leftover: an orphan). Only frpc on
/// this run's config files count (other programs on the machine may run frpc of their own).
std::vector<std::string> agentMismatches(Connection& db, World& w) {
  std::vector<std::string> out;
  for (RealEdge& e : w.agents()) {
    const std::string edge = e.agent->setup().edgeId;
    Rows active = query(db,
                        "SELECT session_id, services->>'ssh' FROM sessions WHERE edge_id = $1"
                        " AND state = 'active'",
                        {edge});
    const auto frpc = processesWithArg(e.agent->frpcConfigPath());
    for (int pid : frpc) {
      if (parentOf(pid) != e.agent->pid()) {
        out.push_back(edge + ": orphan frpc pid " + std::to_string(pid) + " (parent " +
                      std::to_string(parentOf(pid)) + ", the agent is pid " +
                      std::to_string(e.agent->pid()) + ")");
      }
    }
    if (active.size() > 0 && frpc.empty()) {
      out.push_back(edge + ": session " + active.str(0, 0) + " active, no frpc running");
    } else if (active.size() == 0 && !frpc.empty()) {
      out.push_back(edge + ": frpc pid " + std::to_string(frpc[0]) + " running, no active session");
    } else if (active.size() > 0) {
      const std::string config = readText(e.agent->frpcConfigPath());
      if (config.find("remotePort = " + active.str(0, 1)) == std::string::npos) {
        out.push_back(edge + ": session " + active.str(0, 0) + " holds port " + active.str(0, 1) +
                      ", frpc's config says otherwise:\n" + config);
      }
    }
  }
  return out;
}

}  // namespace

Verdict checkInvariants(World& w, const std::vector<Published>& published) {
  auto db = Connection::open(w.harness().conninfo(), "bench-chaos-check");
  if (!db) {
    throw std::runtime_error("PostgreSQL: " + db.error().describe());
  }
  Verdict v;
  checkRequests(**db, published, v);
  checkDuplicates(**db, v);
  checkOrderAndPorts(**db, v);
  checkExtensions(**db, v);
  // Sessions and frpc meet once the last events are stored: agreement within 30 s.
  std::vector<std::string> mismatches;
  (void)waitUntil(
      [&] {
        mismatches = agentMismatches(**db, w);
        return mismatches.empty();
      },
      30000, 1000);
  for (const auto& m : mismatches) {
    violate(v, m);
  }
  return v;
}

}  // namespace edgelink::bench::chaos
