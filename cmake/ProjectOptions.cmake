# Options that presets set; flags live here as an interface target, never as global flags.
option(CANVOY_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
option(CANVOY_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(CANVOY_BUILD_BENCH "Build the benchmarks in bench/" OFF)

add_library(canvoy_project_options INTERFACE)
add_library(canvoy::project_options ALIAS canvoy_project_options)
target_compile_features(canvoy_project_options INTERFACE cxx_std_20)
target_compile_options(canvoy_project_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wimplicit-fallthrough
  $<$<BOOL:${CANVOY_WARNINGS_AS_ERRORS}>:-Werror>)
target_compile_definitions(canvoy_project_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_ALLOW_DEPRECATED_HEADERS)
if(CANVOY_SANITIZE)
  target_compile_options(canvoy_project_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(canvoy_project_options INTERFACE -fsanitize=address,undefined)
endif()

# canvoy_add_tests(<target> <sources...> LIBS <libs...> [LABELS <labels...>])
# One executable per component's unit tests; every TEST is its own CTest entry.
function(canvoy_add_tests target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                        canvoy::project_options)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${target} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()
