#pragma once

// The keys the ingest trusts to sign requests, for the audit trail (domain/audit.h): the public
// halves of every key in signing-key-dir (the dispatcher's own and any a web backend signs with
// that the operator placed there, `keys`), read when the daemon starts. A request that verifies
// against one is audited as signed_request with its key id; any other as unsigned_request.

#include <string>

#include "security/signature.h"

namespace edgelink::dispatcher {

/// Every <keyid>.key in `dir` (none when it does not exist); a key that cannot be read is left
/// out with a warning naming it.
security::KeyRing loadTrustedRequestKeys(const std::string& dir);

}  // namespace edgelink::dispatcher
