#pragma once

// The console's files (cloud-dispatcher/web/static and xterm.js from npm), compiled into the
// binary at build time (cmake/EmbedAssets.cmake): nothing is read from disk or fetched from
// elsewhere at run time.

#include <cstddef>
#include <string>

namespace edgelink::dispatcher::web {

struct Asset {
  const char* path;  ///< under /static/: "app.js", "vendor/xterm/xterm.js"
  const char* contentType;
  const unsigned char* data;
  size_t size;
};

/// The file at `path` (under /static/), or nullptr.
const Asset* findAsset(const std::string& path);
/// Every file (for the tests).
const Asset* assetsBegin();
const Asset* assetsEnd();

}  // namespace edgelink::dispatcher::web
