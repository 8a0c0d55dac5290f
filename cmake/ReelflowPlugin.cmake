# reelflow_add_plugin(NAME SOURCES src... [LIBRARIES lib...] [INCLUDE_DIRS dir...])
#
# Builds a reelflow plugin: a shared object named NAME.so (target reelflow_plugin_NAME) that
# exports only reelflow_plugin_entry. Used in-tree and, installed, by out-of-tree plugins after
# find_package(Reelflow).
#
#   Where it lands: REELFLOW_PLUGIN_OUTPUT_DIR if set (in-tree: build/lib/reelflow/plugins),
#     otherwise the top of the project's build directory, so that
#     `reelflow plugins --plugin-dir <build dir>` finds it.
#   Where it installs: REELFLOW_PLUGIN_INSTALL_DIR if set (in-tree: lib/reelflow/plugins; after
#     find_package(Reelflow): the plugin directory of that reelflow install), with COMPONENT
#     plugins. Unset (plain include of this file): not installed.
#   What it compiles with: Reelflow::plugin_api (plugin.h, plugin.hpp), C++20 when CXX is
#     enabled, hidden visibility, and a linker version script that keeps every other symbol
#     (including inline and template code from the C++ standard library) local, so that plugins
#     built with different toolchains never interpose on each other or on the host.
#   Link checks: -z defs, so a missing symbol fails the build instead of the dlopen.
include_guard(GLOBAL)

function(reelflow_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 RFP "" "" "SOURCES;LIBRARIES;INCLUDE_DIRS")
  if(RFP_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR
            "reelflow_add_plugin(${name}): unexpected arguments: ${RFP_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT RFP_SOURCES)
    message(FATAL_ERROR "reelflow_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "reelflow_add_plugin(${name}): the name must match [a-z][a-z0-9_]*")
  endif()
  if(NOT TARGET Reelflow::plugin_api)
    message(FATAL_ERROR "reelflow_add_plugin(${name}): Reelflow::plugin_api is not defined; "
                        "call find_package(Reelflow REQUIRED) first")
  endif()
  set(target reelflow_plugin_${name})
  add_library(${target} MODULE ${RFP_SOURCES})
  target_link_libraries(${target} PRIVATE Reelflow::plugin_api ${RFP_LIBRARIES})
  if(RFP_INCLUDE_DIRS)
    target_include_directories(${target} PRIVATE ${RFP_INCLUDE_DIRS})
  endif()
  get_property(languages GLOBAL PROPERTY ENABLED_LANGUAGES)
  if(CXX IN_LIST languages)
    target_compile_features(${target} PRIVATE cxx_std_20)  # <reelflow/plugin.hpp>
  endif()
  if(DEFINED REELFLOW_WARNINGS)  # in-tree: the project's (C++) warning set
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${REELFLOW_WARNINGS}>")
  endif()
  if(DEFINED REELFLOW_PLUGIN_OUTPUT_DIR)
    set(out_dir ${REELFLOW_PLUGIN_OUTPUT_DIR})
  else()
    set(out_dir ${CMAKE_BINARY_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    PREFIX ""
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${out_dir})
  if(NOT APPLE AND NOT WIN32)
    # Export reelflow_plugin_entry and nothing else. file(CONFIGURE) rewrites only on change.
    set(exports_map ${CMAKE_CURRENT_BINARY_DIR}/${target}.exports.map)
    file(CONFIGURE OUTPUT ${exports_map}
         CONTENT "{\n  global: reelflow_plugin_entry;\n  local: *;\n};\n")
    target_link_options(${target} PRIVATE "LINKER:--version-script=${exports_map}")
    set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${exports_map})
    # Fail at link time, not at dlopen time, when a symbol is missing.
    target_link_options(${target} PRIVATE "LINKER:-z,defs")
  endif()
  if(DEFINED REELFLOW_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${REELFLOW_PLUGIN_INSTALL_DIR} COMPONENT plugins)
  endif()
endfunction()
