#pragma once

namespace edgelink::agent {

/// The edge-agent command line: the daemon (`edge-agent --config FILE`), `verify` and
/// `render-frpc`. Returns the process exit code.
int runMain(int argc, const char* const* argv);

}  // namespace edgelink::agent
