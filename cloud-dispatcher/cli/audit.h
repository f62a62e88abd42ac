#pragma once

// The CLI's side of the audit trail (domain/audit.h): who runs it, and `audit list`.

#include <cstdint>
#include <string>

#include "cli/context.h"
#include "cli/requester.h"
#include "domain/audit.h"

namespace edgelink::dispatcher {

/// The operator running this process: its effective OS user (getpwuid(geteuid())), with
/// $SUDO_USER when run under sudo ("alice (sudo root)").
AuditActor operatorActor();

/// An operator's request that changes a session, audited: records `audit` (its edge and request
/// id: the request's) as operatorActor() before publishing — so the operator's row stays when the
/// daemon stores the request first — then requester.exchange(); when nothing went out the row is
/// withdrawn. Returns what exchange returns, or a printed database failure.
int auditedExchange(const Context& c, pg::Connection& db, Requester& requester,
                    const AuditEntry& audit, const std::string& bytes, int64_t waitSeconds);

}  // namespace edgelink::dispatcher
