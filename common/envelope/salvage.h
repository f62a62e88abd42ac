#pragma once

// What can still be read of a message the decoder refused, so that a request whose id is
// readable gets an answer (400/413) instead of silence. Read leniently, in one pass and constant
// memory, whatever the rest of the message is: broken or truncated JSON after the header fields,
// invalid UTF-8 or NULs in other strings, numbers out of range, any nesting depth, any size.
//
// Only the header fields an answer needs are read (kind, id, sender, type, timestamp), each
// only from the kind object at the top level (`{"request": {"id": ...}}`) and only when its
// value is itself well-formed: a header string with an invalid escape, bad UTF-8, a NUL or a
// lone surrogate is unreadable; so is a field given twice, or a message with two kinds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "envelope/envelope.h"
#include "envelope/types.h"  // isTypeName, the one type-name check

namespace edgelink::envelope {

struct Salvaged {
  std::optional<Kind> kind;
  std::optional<Id> id;
  std::string sender;  ///< "" when unreadable
  std::string type;    ///< "" when unreadable (not checked against the type-name rule)
  std::optional<int64_t> timestampMs;
};

/// Scans `bytes` for the header of a request, response or event.
Salvaged salvageHeader(std::string_view bytes);

}  // namespace edgelink::envelope
