# Installation rules for the plugin SDK and the CMake package plugin authors use.
#
#   cmake --install build --prefix P --component sdk   installs
#     P/include/reelflow/plugin.h, plugin.hpp
#     P/lib/cmake/Reelflow/ReelflowConfig.cmake, ReelflowConfigVersion.cmake (SameMajorVersion),
#       ReelflowTargets.cmake (Reelflow::plugin_api), ReelflowPlugin.cmake (reelflow_add_plugin)
# so that an out-of-tree project needs only
#   find_package(Reelflow REQUIRED)
#   reelflow_add_plugin(NAME SOURCES ...)
# Binaries (COMPONENT runtime) and plugins (COMPONENT plugins) carry their own install() calls.
# The SDK is headers and CMake code only, so the package is architecture independent.
include(CMakePackageConfigHelpers)

set(REELFLOW_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Reelflow)

install(FILES ${PROJECT_SOURCE_DIR}/include/reelflow/plugin.h
              ${PROJECT_SOURCE_DIR}/include/reelflow/plugin.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/reelflow
        COMPONENT sdk)

install(TARGETS reelflow_plugin_api EXPORT ReelflowTargets COMPONENT sdk)
install(EXPORT ReelflowTargets
        NAMESPACE Reelflow::
        DESTINATION ${REELFLOW_CMAKE_INSTALL_DIR}
        COMPONENT sdk)

# PATH_VARS make these relative to the install prefix inside ReelflowConfig.cmake, so the
# installed tree can be moved.
set(REELFLOW_INSTALL_BINDIR ${CMAKE_INSTALL_BINDIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/ReelflowConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/ReelflowConfig.cmake
  INSTALL_DESTINATION ${REELFLOW_CMAKE_INSTALL_DIR}
  PATH_VARS REELFLOW_PLUGIN_INSTALL_DIR REELFLOW_INSTALL_BINDIR)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/ReelflowConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)

install(FILES ${PROJECT_BINARY_DIR}/cmake/ReelflowConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/ReelflowConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/ReelflowPlugin.cmake
        DESTINATION ${REELFLOW_CMAKE_INSTALL_DIR}
        COMPONENT sdk)
