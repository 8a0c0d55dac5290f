# reelflow_add_plugin(NAME SOURCES src... [LIBRARIES lib...] [INCLUDE_DIRS dir...])
#
# Builds a reelflow plugin: a shared object named NAME.so that exports only
# reelflow_plugin_entry. Used in-tree and, installed, by out-of-tree plugins after
# find_package(Reelflow). In-tree the .so lands in build/lib/reelflow/plugins and installs to
# lib/reelflow/plugins; out of tree it lands in the project's build directory (so
# `reelflow plugins --plugin-dir <build dir>` finds it) unless REELFLOW_PLUGIN_OUTPUT_DIR is set.
include_guard(GLOBAL)

function(reelflow_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 RFP "" "" "SOURCES;LIBRARIES;INCLUDE_DIRS")
  if(NOT RFP_SOURCES)
    message(FATAL_ERROR "reelflow_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "reelflow_add_plugin(${name}): the name must match [a-z][a-z0-9_]*")
  endif()
  set(target reelflow_plugin_${name})
  add_library(${target} MODULE ${RFP_SOURCES})
  target_link_libraries(${target} PRIVATE Reelflow::plugin_api ${RFP_LIBRARIES})
  if(RFP_INCLUDE_DIRS)
    target_include_directories(${target} PRIVATE ${RFP_INCLUDE_DIRS})
  endif()
  if(DEFINED REELFLOW_PLUGIN_OUTPUT_DIR)
    set(out_dir ${REELFLOW_PLUGIN_OUTPUT_DIR})
  else()
    set(out_dir ${CMAKE_BINARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${out_dir})
  # Fail at link time, not at dlopen time, when a symbol is missing.
  target_link_options(${target} PRIVATE -Wl,-z,defs)
  if(DEFINED REELFLOW_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${REELFLOW_PLUGIN_INSTALL_DIR} COMPONENT plugins)
  endif()
endfunction()
