# Use ccache when it is installed; nothing changes when it is not.
find_program(CANVOY_CCACHE ccache)
if(CANVOY_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CANVOY_CCACHE}")
endif()
