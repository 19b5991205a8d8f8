# libFuzzer targets (tests/fuzz): clang only, built by the `fuzz` preset. CI's gcc build leaves
# CANVOY_BUILD_FUZZ off and only replays the fuzz targets' corpora as ordinary tests.
option(CANVOY_BUILD_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(CANVOY_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CANVOY_BUILD_FUZZ needs clang (libFuzzer); configure with the fuzz preset")
  endif()
  # Code under test: coverage feedback for libFuzzer, ASan and UBSan; every UB report aborts.
  add_library(canvoy_fuzz_options INTERFACE)
  target_compile_options(canvoy_fuzz_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  target_link_options(canvoy_fuzz_options INTERFACE -fsanitize=address,undefined)
endif()

# canvoy_add_fuzzer(<target> SOURCES <sources...> LIBS <libs...>)
# A libFuzzer executable (libFuzzer supplies main).
function(canvoy_add_fuzzer target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} canvoy_fuzz_options canvoy::project_options)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
endfunction()
