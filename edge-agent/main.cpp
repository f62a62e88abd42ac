// edge-agent: the EdgeLink watchdog daemon on an edge board. See docs/AGENT.md.
#include "cli.h"

int main(int argc, char** argv) {
  return edgelink::agent::runMain(argc, argv);
}
