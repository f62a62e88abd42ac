# Warnings, sanitizers and static linking, applied through an interface target that every
# EdgeLink target links (`edgelink_build_flags`), so third-party headers are not affected.
add_library(edgelink_build_flags INTERFACE)
target_compile_options(edgelink_build_flags INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wformat=2 -Wimplicit-fallthrough)
if(EDGELINK_WERROR)
  target_compile_options(edgelink_build_flags INTERFACE -Werror)
endif()

if(EDGELINK_SANITIZE)
  string(REPLACE "," ";" _edgelink_sanitizers "${EDGELINK_SANITIZE}")
  foreach(_s IN LISTS _edgelink_sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "EDGELINK_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  target_compile_options(edgelink_build_flags INTERFACE
    -fsanitize=${EDGELINK_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(edgelink_build_flags INTERFACE -fsanitize=${EDGELINK_SANITIZE})
endif()

# EDGELINK_FUZZ: every EdgeLink target is instrumented for libFuzzer (coverage only: its main comes
# with the fuzz targets, tests/fuzz) and checked by ASan + UBSan, so the code a fuzzer reaches
# through the libraries is as closely watched as the target's own.
if(EDGELINK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EDGELINK_FUZZ needs clang (libFuzzer): configure with "
      "CC=clang-14 CXX=clang++-14, as scripts/fuzz does")
  endif()
  if(EDGELINK_SANITIZE)
    message(FATAL_ERROR "EDGELINK_FUZZ brings its own sanitizers: leave EDGELINK_SANITIZE empty")
  endif()
  target_compile_options(edgelink_build_flags INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=all
    "-fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/fuzz/ubsan_ignore.txt"
    -fsized-deallocation)  # GCC's default; envelope.cpp uses it
  target_link_options(edgelink_build_flags INTERFACE -fsanitize=address,undefined)
endif()

# 32-bit targets (RV1126): 64-bit file offsets (large directories and files; readdir under
# qemu-user otherwise fails with EOVERFLOW) and, where the C library supports it (glibc >=
# 2.34), a 64-bit time_t so the agent keeps counting past 2038.
if(CMAKE_SIZEOF_VOID_P EQUAL 4)
  target_compile_definitions(edgelink_build_flags INTERFACE _FILE_OFFSET_BITS=64)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_DEFINITIONS -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64)
  check_cxx_source_compiles("#include <ctime>
    static_assert(sizeof(time_t) == 8, \"32-bit time_t\");
    int main() { return 0; }" EDGELINK_HAVE_TIME64)
  unset(CMAKE_REQUIRED_DEFINITIONS)
  if(EDGELINK_HAVE_TIME64)
    target_compile_definitions(edgelink_build_flags INTERFACE _TIME_BITS=64)
  endif()
endif()

if(EDGELINK_STATIC)
  # A fully static executable: no glibc version requirements on the board.
  target_link_options(edgelink_build_flags INTERFACE -static)
endif()

# edgelink_add_library(name SOURCES...): a static library with EdgeLink's flags.
function(edgelink_add_library name)
  add_library(${name} STATIC ${ARGN})
  target_link_libraries(${name} PUBLIC edgelink_build_flags)
endfunction()

# edgelink_add_executable(name SOURCES...): an executable with EdgeLink's flags. TSan builds add
# a thrd_create that TSan sees (cmake/tsan_thrd_create.cpp: librdkafka's threads) and a mkstemp
# whose descriptor it sees (cmake/tsan_mkstemp.cpp).
function(edgelink_add_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE edgelink_build_flags)
  if(EDGELINK_SANITIZE MATCHES "thread")
    target_sources(${name} PRIVATE "${PROJECT_SOURCE_DIR}/cmake/tsan_thrd_create.cpp"
      "${PROJECT_SOURCE_DIR}/cmake/tsan_mkstemp.cpp")
  endif()
endfunction()
