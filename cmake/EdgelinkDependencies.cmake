# Every dependency comes from Debian's archive (scripts/bootstrap installs them).
# Nothing is downloaded at build time.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)

# RapidJSON: header-only. JSON Schema "pattern" uses its internal regex engine, which is its
# default: do not define RAPIDJSON_SCHEMA_USE_INTERNALREGEX (1.1.0 inverts it when defined).
# (find_path, not its CMake config: that hard-codes /usr/include, wrong when cross-compiling.)
find_path(RAPIDJSON_INCLUDE_DIR rapidjson/rapidjson.h REQUIRED)
add_library(edgelink_rapidjson INTERFACE)
target_include_directories(edgelink_rapidjson SYSTEM INTERFACE "${RAPIDJSON_INCLUDE_DIR}")
target_compile_definitions(edgelink_rapidjson INTERFACE
  RAPIDJSON_HAS_STDSTRING=1)

# spdlog: the shared library natively; header-only (with header-only fmt) for static builds,
# since Debian ships no static spdlog/fmt archives.
add_library(edgelink_spdlog INTERFACE)
if(EDGELINK_STATIC)
  find_path(SPDLOG_INCLUDE_DIR spdlog/spdlog.h REQUIRED)
  find_path(FMT_INCLUDE_DIR fmt/format.h REQUIRED)
  target_include_directories(edgelink_spdlog SYSTEM INTERFACE ${SPDLOG_INCLUDE_DIR} ${FMT_INCLUDE_DIR})
  target_compile_definitions(edgelink_spdlog INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
else()
  find_package(spdlog REQUIRED)
  target_link_libraries(edgelink_spdlog INTERFACE spdlog::spdlog)
endif()

find_package(CLI11 REQUIRED)

# librdkafka has no CMake config in Debian: pkg-config. `edgelink_rdkafka` is what targets link.
add_library(edgelink_rdkafka INTERFACE)
if(EDGELINK_STATIC)
  # Fully static: librdkafka.a and its compression/TLS archives, with the SASL shim in place of
  # Cyrus SASL (common/kafka/sasl_shim.c: GSSAPI off; PLAIN/SCRAM/OAUTHBEARER still work).
  find_path(RDKAFKA_INCLUDE_DIR librdkafka/rdkafka.h REQUIRED)
  set(_edgelink_static_libs)
  foreach(lib rdkafka zstd lz4 ssl crypto z)
    find_library(EDGELINK_STATIC_${lib} NAMES lib${lib}.a REQUIRED)
    list(APPEND _edgelink_static_libs "${EDGELINK_STATIC_${lib}}")
  endforeach()
  add_library(edgelink_sasl_shim STATIC "${PROJECT_SOURCE_DIR}/common/kafka/sasl_shim.c")
  target_include_directories(edgelink_rdkafka SYSTEM INTERFACE "${RDKAFKA_INCLUDE_DIR}")
  target_link_libraries(edgelink_rdkafka INTERFACE
    ${_edgelink_static_libs} edgelink_sasl_shim ${CMAKE_DL_LIBS} Threads::Threads m rt)
else()
  pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET GLOBAL rdkafka)
  target_link_libraries(edgelink_rdkafka INTERFACE PkgConfig::RDKAFKA)
endif()

# OpenSSL's libcrypto (Ed25519 signatures: common/security). librdkafka links it already; static
# builds take the same archive.
add_library(edgelink_crypto INTERFACE)
if(EDGELINK_STATIC)
  target_link_libraries(edgelink_crypto INTERFACE "${EDGELINK_STATIC_crypto}" ${CMAKE_DL_LIBS}
    Threads::Threads)
else()
  pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET GLOBAL libcrypto)
  target_link_libraries(edgelink_crypto INTERFACE PkgConfig::LIBCRYPTO)
endif()

if(EDGELINK_BUILD_DISPATCHER)
  pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET GLOBAL libpqxx libpq)
  # The web console: Argon2id password hashes (libsodium), web ssh's client (libssh).
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET GLOBAL libsodium)
  pkg_check_modules(LIBSSH REQUIRED IMPORTED_TARGET GLOBAL libssh)
endif()

if(EDGELINK_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  include(CTest)
  include(Catch)
endif()
