// cloud-dispatcher: the EdgeLink cloud dispatcher. The daemon (`run`) and the operators' CLI live
// in the edgelink_dispatcher library; see docs/DISPATCHER.md.
#include "cli/cli.h"

int main(int argc, char** argv) {
  return edgelink::dispatcher::cliMain(argc, argv);
}
