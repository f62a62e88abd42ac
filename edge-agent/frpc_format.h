#pragma once

// The frpc config's formats and their quoting, the lowest layer of frpc config writing: which
// strings frp would read back exactly (checkFrpcString, used by config validation) and how each
// format quotes them. Depends on nothing of the agent's.

#include <string>
#include <string_view>

#include "core/result.h"

namespace edgelink::agent {

/// The frpc configuration file format: frp's TOML (v0.52+) or the legacy INI.
enum class FrpcFormat { kToml, kIni };

const char* formatName(FrpcFormat format);

/// Whether `value` can be written into an frpc config of `format` so that frp reads back
/// exactly `value`: valid UTF-8, no control characters, no "{{" (frp renders config files as Go
/// templates), and for INI no "%(" (go-ini value references). The error says why.
VoidResult checkFrpcString(std::string_view value, FrpcFormat format);

/// A TOML basic string: quoted, with '"', '\' and control characters escaped.
std::string tomlString(std::string_view value);

/// A go-ini value that reads back as `value` (frp's legacy INI parser trims spaces, strips
/// surrounding quotes and joins lines ending in '\'): plain when safe, else in backquotes.
/// `value` must have passed checkFrpcString.
std::string iniValue(std::string_view value);

}  // namespace edgelink::agent
