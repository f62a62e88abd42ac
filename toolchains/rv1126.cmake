# CMake toolchain for Rockchip RV1126 (ARMv7-A Cortex-A7, NEON-VFPv4, hard float).
#
# Two ways to get a compiler and libraries:
#  1. The vendor SDK (GCC 8.3 + Buildroot sysroot). Give its Buildroot host directory, which
#     holds bin/arm-linux-gnueabihf-g++ and arm-buildroot-linux-gnueabihf/sysroot:
#        cmake --preset rv1126 -DRV1126_SDK=/path/to/buildroot/output/rockchip_rv1126/host
#     or set RV1126_TOOLCHAIN_PREFIX (e.g. /opt/gcc-arm-8.3/bin/arm-linux-gnueabihf-) and
#     CMAKE_SYSROOT separately. The environment variables of the same names work too.
#  2. No SDK: Debian's arm-linux-gnueabihf cross compiler (crossbuild-essential-armhf) and a
#     sysroot of Debian armhf libraries assembled by scripts/rv1126-sysroot (default
#     .cache/rv1126-sysroot; RV1126_DEBIAN_SYSROOT overrides). Its glibc is newer than the
#     boards', so deploy the fully static build (-DEDGELINK_STATIC=ON, preset rv1126-static).
#
# pkg-config is pointed at the sysroot; ctest runs armhf test binaries through qemu-arm-static
# when it is installed (CMAKE_CROSSCOMPILING_EMULATOR).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

foreach(var RV1126_SDK RV1126_TOOLCHAIN_PREFIX RV1126_DEBIAN_SYSROOT)
  if(NOT ${var} AND DEFINED ENV{${var}})
    set(${var} "$ENV{${var}}")
  endif()
endforeach()
# Toolchain files are read again by try_compile: pass our variables along.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES
  RV1126_SDK RV1126_TOOLCHAIN_PREFIX RV1126_DEBIAN_SYSROOT)

# (This file is read more than once, by project() and by try_compile: decide from the inputs
# only, never from variables an earlier pass set.)
if(RV1126_SDK AND NOT CMAKE_SYSROOT)
  file(GLOB _rv1126_sysroots "${RV1126_SDK}/*-linux-gnueabihf/sysroot")
  list(GET _rv1126_sysroots 0 _rv1126_sysroot)
  set(CMAKE_SYSROOT "${_rv1126_sysroot}")
endif()
if(RV1126_SDK)
  set(_rv1126_prefix "${RV1126_SDK}/bin/arm-linux-gnueabihf-")
else()
  set(_rv1126_prefix "arm-linux-gnueabihf-")
endif()
if(RV1126_TOOLCHAIN_PREFIX)
  set(_rv1126_prefix "${RV1126_TOOLCHAIN_PREFIX}")
endif()

if(CMAKE_SYSROOT)
  set(_rv1126_lib_root "${CMAKE_SYSROOT}")
else()
  # Debian cross compiler: its own libc lives in /usr/arm-linux-gnueabihf; the third-party
  # libraries come from the Debian armhf sysroot folder.
  if(NOT RV1126_DEBIAN_SYSROOT)
    get_filename_component(RV1126_DEBIAN_SYSROOT
      "${CMAKE_CURRENT_LIST_DIR}/../.cache/rv1126-sysroot" ABSOLUTE)
  endif()
  if(NOT EXISTS "${RV1126_DEBIAN_SYSROOT}/usr/include/librdkafka/rdkafka.h")
    message(FATAL_ERROR "No Debian armhf sysroot at ${RV1126_DEBIAN_SYSROOT}: run "
      "scripts/rv1126-sysroot, or give the vendor SDK with -DRV1126_SDK=...")
  endif()
  set(_rv1126_lib_root "${RV1126_DEBIAN_SYSROOT}")
endif()

set(CMAKE_C_COMPILER "${_rv1126_prefix}gcc")
set(CMAKE_CXX_COMPILER "${_rv1126_prefix}g++")
find_program(CMAKE_STRIP NAMES "${_rv1126_prefix}strip")

set(_rv1126_cpu_flags "-mcpu=cortex-a7 -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_C_FLAGS_INIT "${_rv1126_cpu_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_rv1126_cpu_flags}")
if(NOT CMAKE_SYSROOT)
  # Shared libraries' own dependencies live in both lib dirs of the Debian sysroot (zlib is in
  # /lib): tell the linker where to resolve them.
  # Multiarch headers (OpenSSL's opensslconf.h, configuration.h) sit in the triplet folder of
  # the Debian sysroot, which the Debian cross compiler does not search by itself.
  set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES "${_rv1126_lib_root}/usr/include/arm-linux-gnueabihf")
  set(CMAKE_CXX_STANDARD_INCLUDE_DIRECTORIES "${_rv1126_lib_root}/usr/include/arm-linux-gnueabihf")
  set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-Wl,-rpath-link,${_rv1126_lib_root}/lib/arm-linux-gnueabihf -Wl,-rpath-link,${_rv1126_lib_root}/usr/lib/arm-linux-gnueabihf")
endif()

# Libraries and headers come from the target's root only; programs from the host.
set(CMAKE_FIND_ROOT_PATH "${_rv1126_lib_root}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)

# pkg-config has no cross wrapper here: point it at the target's .pc files.
set(ENV{PKG_CONFIG_DIR} "")
set(ENV{PKG_CONFIG_LIBDIR}
  "${_rv1126_lib_root}/usr/lib/arm-linux-gnueabihf/pkgconfig:${_rv1126_lib_root}/usr/lib/pkgconfig:${_rv1126_lib_root}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${_rv1126_lib_root}")

# Run armhf test binaries under qemu (binfmt is not assumed). Dynamic binaries also need the
# target's loader and libraries: QEMU_LD_PREFIX points qemu at them.
find_program(RV1126_QEMU NAMES qemu-arm-static qemu-arm)
if(RV1126_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${RV1126_QEMU}")
endif()
