// events tail [--follow].

#include <algorithm>
#include <memory>

#include "cli/context.h"
#include "cli/queries.h"
#include "db/migrations.h"

namespace edgelink::dispatcher {
namespace {

struct EventsArgs {
  std::string edge;
  std::string type;
  bool follow = false;
};

/// Prints events as they come: a table (its header once), a JSON array, or JSON Lines while
/// following. Remembers the last sequence number printed.
class EventPrinter {
 public:
  EventPrinter(const Context& c, bool follow) : c_(c), follow_(follow) {}

  void print(const std::vector<Record>& records, bool header) {
    for (const auto& r : records) {
      last_ = std::max<int64_t>(last_, std::stoll("0" + fieldText(r, "seq")));
    }
    if (c_.json) {
      if (follow_) {
        for (const auto& r : records) {
          c_.out(renderJsonObject(r));  // JSON Lines while following
        }
      } else {
        c_.out(renderJsonArray(records));
      }
    } else if (!records.empty() || header) {
      std::string table = renderTable(records, {{"seq", "SEQ"},
                                                {"edge_id", "EDGE"},
                                                {"type", "TYPE"},
                                                {"sent_at", "SENT"},
                                                {"detail", "DETAIL", 60}});
      if (!header) {
        table = table.substr(table.find('\n') + 1);  // the header was printed already
      }
      c_.out(table);
    }
  }
  int64_t last() const { return last_; }

 private:
  const Context& c_;
  bool follow_;
  int64_t last_ = 0;
};

int eventsTail(const Context& c, const EventsArgs& a, pg::Connection& db) {
  if (a.follow) {
    installStopHandlers();
    if (auto r = db.listen(kEventChannel); !r) {
      return c.fail(kExitDatabase, r.error().describe());
    }
  }
  auto first = listEvents(db, a.edge, a.type, 0, c.limit);
  if (!first) {
    return c.fail(kExitDatabase, first.error().describe());
  }
  EventPrinter printer(c, a.follow);
  printer.print(*first, true);
  while (a.follow && !gStop) {
    auto n = db.waitNotification(1000);
    if (!n) {
      return c.fail(kExitDatabase, n.error().describe());
    }
    while (!gStop) {
      auto more = listEvents(db, a.edge, a.type, printer.last(), 1000);
      if (!more) {
        return c.fail(kExitDatabase, more.error().describe());
      }
      printer.print(*more, false);
      if (more->size() < 1000) {
        break;
      }
    }
  }
  return kExitOk;
}

}  // namespace

void addEventsCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<EventsArgs>();
  auto* events = cmds.group("events", "Edge events", "cloud-dispatcher events tail --follow");
  auto* tail = cmds.add(
      "tail", "The newest events; --follow for new ones",
      "cloud-dispatcher events tail --edge elevator-0042 --type frp_stopped -f",
      [&c, a] {
        return c.withDatabase([&c, a](pg::Connection& db) { return eventsTail(c, *a, db); });
      },
      events);
  tail->add_option("--edge", a->edge, "Only this edge");
  tail->add_option("--type", a->type, "Only this event type");
  tail->add_option("--limit", c.limit, "How many to show first")->capture_default_str();
  tail->add_flag("-f,--follow", a->follow, "Keep printing new events until interrupted");
}

}  // namespace edgelink::dispatcher
