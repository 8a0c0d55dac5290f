# cmake -DBUILD_DIR=... -DPLUGIN_SOURCE_DIR=... -DREELFLOW=... -DGENERATOR=... -DCXX_COMPILER=...
#       [-DCXX_COMPILER_LAUNCHER=...] [-DNM=nm] -P out_of_tree_test.cmake
#
# What a third-party author does, end to end, outside the source tree:
#   1. install the SDK (component sdk) of BUILD_DIR into a temporary prefix;
#   2. copy plugins/hello to a temporary directory and build it there with only
#      -DCMAKE_PREFIX_PATH=<prefix>;
#   3. check hello.so exports reelflow_plugin_entry and nothing else;
#   4. check `reelflow plugins --plugin-dir <that build dir> --json` lists hello.stamp from it.
# The temporary directory is removed on success and kept (path printed) on failure.
cmake_minimum_required(VERSION 3.20)

foreach(var BUILD_DIR PLUGIN_SOURCE_DIR REELFLOW GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "out_of_tree_test.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT NM)
  set(NM nm)
endif()

if(DEFINED ENV{TMPDIR} AND IS_DIRECTORY "$ENV{TMPDIR}")
  set(tmp_root "$ENV{TMPDIR}")
else()
  set(tmp_root "/tmp")
endif()
string(RANDOM LENGTH 10 suffix)
set(work "${tmp_root}/reelflow-sdk-test-${suffix}")
set(prefix "${work}/prefix")
set(source "${work}/hello")
set(build "${work}/build")
file(MAKE_DIRECTORY "${work}")

function(check_step what)
  set(options "${ARGN}")
  execute_process(${options} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}); kept ${work}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(fail message)
  message(FATAL_ERROR "${message}\n(kept ${work})")
endfunction()

# 1. The SDK, as a -dev package would ship it.
check_step("cmake --install ${BUILD_DIR} --prefix ${prefix} --component sdk"
           COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component sdk)
foreach(installed include/reelflow/plugin.h include/reelflow/plugin.hpp)
  if(NOT EXISTS "${prefix}/${installed}")
    fail("the sdk component did not install ${installed}")
  endif()
endforeach()

# 2. The template, copied out of the tree and built against the prefix only.
file(COPY "${PLUGIN_SOURCE_DIR}/" DESTINATION "${source}")
set(configure_args -S ${source} -B ${build} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=${work}/plugin-install)
if(CXX_COMPILER_LAUNCHER)
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER})
endif()
check_step("configuring the copied hello plugin" COMMAND ${CMAKE_COMMAND} ${configure_args})
file(STRINGS "${build}/CMakeCache.txt" found_dir REGEX "^Reelflow_DIR:")
if(NOT found_dir STREQUAL "Reelflow_DIR:PATH=${prefix}/lib/cmake/Reelflow"
   AND NOT found_dir MATCHES "^Reelflow_DIR:PATH=${prefix}/lib/[^/]+/cmake/Reelflow$")
  fail("find_package(Reelflow) did not use the temporary prefix: ${found_dir}")
endif()
check_step("building the copied hello plugin" COMMAND ${CMAKE_COMMAND} --build ${build})

set(plugin "${build}/hello.so")
if(NOT EXISTS "${plugin}")
  fail("the out-of-tree build did not produce ${plugin}")
endif()

# 3. Exactly one exported symbol: the entry. Everything else (ours and the C++ library's inline
#    code) stays local to the plugin.
check_step("${NM} -D --defined-only ${plugin}" COMMAND ${NM} -D --defined-only ${plugin})
string(REGEX MATCHALL "[^\n]+" symbol_lines "${step_output}")
set(exported "")
foreach(line IN LISTS symbol_lines)
  string(REGEX REPLACE "^.* " "" symbol "${line}")
  list(APPEND exported "${symbol}")
endforeach()
if(NOT exported STREQUAL "reelflow_plugin_entry")
  fail("hello.so should export only reelflow_plugin_entry; it exports: ${exported}")
endif()

# 4. The CLI finds it through --plugin-dir.
check_step("reelflow plugins --plugin-dir ${build} --json"
           COMMAND ${REELFLOW} plugins --plugin-dir ${build} --json)
set(listing "${step_output}")
string(JSON plugin_count ERROR_VARIABLE json_error LENGTH "${listing}" plugins)
if(json_error)
  fail("reelflow plugins --json printed no {\"plugins\": [...]} object (${json_error}):\n${listing}")
endif()
set(found FALSE)
if(plugin_count GREATER 0)
  math(EXPR last "${plugin_count} - 1")
  foreach(i RANGE ${last})
    string(JSON path GET "${listing}" plugins ${i} path)
    string(JSON step_count LENGTH "${listing}" plugins ${i} step_types)
    if(step_count EQUAL 0)
      continue()
    endif()
    math(EXPR last_step "${step_count} - 1")
    foreach(j RANGE ${last_step})
      string(JSON step_name GET "${listing}" plugins ${i} step_types ${j} name)
      if(step_name STREQUAL "hello.stamp")
        file(REAL_PATH "${path}" real_path)
        file(REAL_PATH "${plugin}" real_plugin)
        if(real_path STREQUAL real_plugin)
          set(found TRUE)
        endif()
      endif()
    endforeach()
  endforeach()
endif()
if(NOT found)
  fail("reelflow plugins --plugin-dir ${build} --json did not list hello.stamp from ${plugin}:\n"
       "${listing}")
endif()

file(REMOVE_RECURSE "${work}")
message(STATUS "out-of-tree hello plugin: built, exports only reelflow_plugin_entry, listed")
