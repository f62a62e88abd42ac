#pragma once

namespace edgelink::dispatcher {

/// The whole cloud-dispatcher command line (daemon and operators' CLI). Returns the exit code
/// (see ExitCode in render.h).
int cliMain(int argc, const char* const* argv);

}  // namespace edgelink::dispatcher
