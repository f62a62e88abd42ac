#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.h"

namespace edgelink {

/// Writes `data` to `path` atomically: a temporary file in the same directory is written,
/// fsync'ed, given `mode`, renamed over `path`, and the directory is fsync'ed. Readers see
/// either the old or the new content, never a mix, even across a power cut. A failure (a full
/// disk, EIO, a read-only file system) leaves `path` as it was, removes the temporary file and
/// reads "cannot write PATH: CAUSE (STEP)".
VoidResult writeFileAtomic(const std::string& path, const std::string& data, mode_t mode);

/// Reads a whole file. Error status kNotFound when it does not exist.
Result<std::string> readFile(const std::string& path);

/// Creates a directory and its parents (like `mkdir -p`) with `mode` for the ones it creates.
VoidResult makeDirs(const std::string& path, mode_t mode);

}  // namespace edgelink
