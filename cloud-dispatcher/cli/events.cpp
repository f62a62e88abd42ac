// events tail [--follow].

#include <algorithm>
#include <map>
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
/// following.
class EventPrinter {
 public:
  EventPrinter(const Context& c, bool follow) : c_(c), follow_(follow) {}

  void print(const std::vector<Record>& records, bool header) {
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

 private:
  const Context& c_;
  bool follow_;
};

/// What a follower has printed of the events whose transactions are not yet behind the horizon
/// (the oldest transaction still running). seq is taken at insert and the transaction commits
/// later, so an event can appear below a seq already printed; it can only come from a transaction
/// at or after the horizon. Each pass reads those transactions' events, prints the ones not
/// printed yet, and then moves to the horizon measured before it: nothing skipped, nothing twice.
class FollowWindow {
 public:
  explicit FollowWindow(int64_t low) : low_(low) {}
  int64_t low() const { return low_; }

  /// The records not printed yet (without their "xact" field); remembers them.
  std::vector<Record> take(std::vector<Record> records) {
    std::vector<Record> fresh;
    for (auto& r : records) {
      const int64_t seq = std::stoll("0" + fieldText(r, "seq"));
      const std::string xact = fieldText(r, "xact");
      r.erase(std::remove_if(r.begin(), r.end(), [](const Field& f) { return f.name == "xact"; }),
              r.end());
      if (xact.empty()) {
        fresh.push_back(std::move(r));  // stored before migration 12: never read again
        continue;
      }
      if (shown_.emplace(seq, std::stoll(xact)).second) {
        fresh.push_back(std::move(r));
      }
    }
    return fresh;
  }
  /// Events of transactions older than `horizon` were all read: forgets them.
  void advance(int64_t horizon) {
    low_ = std::max(low_, horizon);
    for (auto it = shown_.begin(); it != shown_.end();) {
      it = it->second < low_ ? shown_.erase(it) : std::next(it);
    }
  }

 private:
  int64_t low_;
  std::map<int64_t, int64_t> shown_;  ///< seq -> xact
};

/// One pass of --follow: every event of the window's transactions not printed yet.
VoidResult followPass(const EventsArgs& a, pg::Connection& db, FollowWindow& window,
                      EventPrinter& printer) {
  auto horizon = eventHorizon(db);  // before reading: all older transactions' events are read
  if (!horizon) {
    return horizon.error();
  }
  constexpr int kPage = 1000;
  for (int64_t after = 0; !gStop;) {
    auto page = eventsSince(db, a.edge, a.type, window.low(), after, kPage);
    if (!page) {
      return page.error();
    }
    if (page->empty()) {
      break;
    }
    after = std::stoll("0" + fieldText(page->back(), "seq"));
    const bool full = page->size() == kPage;
    printer.print(window.take(std::move(*page)), false);
    if (!full) {
      break;
    }
  }
  window.advance(*horizon);
  return {};
}

int eventsTail(const Context& c, const EventsArgs& a, pg::Connection& db) {
  int64_t low = 0;
  if (a.follow) {
    installStopHandlers();
    if (auto r = db.listen(kEventChannel); !r) {
      return c.fail(kExitDatabase, r.error().describe());
    }
    auto horizon = eventHorizon(db);
    if (!horizon) {
      return c.fail(kExitDatabase, horizon.error().describe());
    }
    low = *horizon;
  }
  auto first = listEvents(db, a.edge, a.type, c.limit);
  if (!first) {
    return c.fail(kExitDatabase, first.error().describe());
  }
  FollowWindow window(low);
  EventPrinter printer(c, a.follow);
  printer.print(window.take(std::move(*first)), true);
  while (a.follow && !gStop) {
    auto n = db.waitNotification(1000);
    if (!n) {
      return c.fail(kExitDatabase, n.error().describe());
    }
    if (auto r = followPass(a, db, window, printer); !r) {
      return c.fail(kExitDatabase, r.error().describe());
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
