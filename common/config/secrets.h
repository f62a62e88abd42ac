#pragma once

// Where secrets may come from (docs/SECURITY.md): files only. A secret on the command line is
// visible to every user of the machine in `ps` and /proc/PID/cmdline, so it is refused; a config
// file holding one must not be readable by others.

#include <string>
#include <string_view>
#include <vector>

#include "config/cli_config.h"

namespace edgelink::config {

/// True for a librdkafka/libpq property whose value is a secret (sasl.password,
/// ssl.key.password, ssl.keystore.password, sasl.oauthbearer.client.secret, ssl.key.pem,
/// sasl.jaas.config, password, ...); false for paths and names (ssl.key.location,
/// sasl.username, sasl.mechanism).
bool isSecretProperty(std::string_view key);

/// True when a libpq conninfo (key=value words or a postgresql:// URI) holds a password.
bool conninfoHasPassword(std::string_view conninfo);

/// The secrets in `argv`: each `--FLAG key=value` / `--FLAG=key=value` of a flag in
/// `propertyFlags` whose key isSecretProperty, and each flag in `conninfoFlags` whose value
/// conninfoHasPassword. One problem per secret, naming the flag and the key (never the value),
/// and saying where it belongs instead.
Problems secretsOnCommandLine(int argc, const char* const* argv,
                              const std::vector<std::string>& propertyFlags,
                              const std::vector<std::string>& conninfoFlags);

/// A config file that holds secrets (`holds` names them, e.g. "kafka-property sasl.password")
/// must not be readable or writable by others (mode & 007); empty `holds` or path: no check.
Problems configFileExposesSecrets(const std::string& path, const std::vector<std::string>& holds);

}  // namespace edgelink::config
