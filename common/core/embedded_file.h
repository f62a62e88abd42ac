#pragma once

#include <string_view>

namespace edgelink {

/// A file compiled into the binary by cmake/EdgelinkEmbed.cmake.
struct EmbeddedFile {
  std::string_view path;  ///< Path relative to the embedding base directory.
  std::string_view data;  ///< The file's bytes.
};

}  // namespace edgelink
