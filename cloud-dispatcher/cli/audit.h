#pragma once

// The CLI's side of the audit trail (domain/audit.h): who runs it, and `audit list`.

#include "domain/audit.h"

namespace edgelink::dispatcher {

/// The operator running this process: its effective OS user (getpwuid(geteuid())), with
/// $SUDO_USER when run under sudo ("alice (sudo root)").
AuditActor operatorActor();

}  // namespace edgelink::dispatcher
