#pragma once

// The keys the ingest trusts to sign requests, for the audit trail (domain/audit.h): the public
// halves of every key in signing-key-dir (the dispatcher's own, `keys`) and the web backends'
// public keys of request-signing-keys, read when the daemon starts. A request that verifies
// against one is audited as signed_request with its key id; any other as unsigned_request.

#include <string>
#include <vector>

#include "security/signature.h"

namespace edgelink::dispatcher {

/// Every <keyid>.key in `dir` (none when it does not exist) and every entry of `extra`
/// (parsePublicKeyEntry); a key that cannot be read is left out with a warning naming it.
security::KeyRing loadTrustedRequestKeys(const std::string& dir,
                                         const std::vector<std::string>& extra = {});

}  // namespace edgelink::dispatcher
