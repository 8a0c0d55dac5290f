# `packaging/dev package`: a .deb with the binaries, plugins and SDK (headers + CMake package).
# The systemd unit, sysusers/tmpfiles and default config join it with the daemon.
set(CPACK_PACKAGE_NAME reelflow)
set(CPACK_PACKAGE_VENDOR "reelflow")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Short-video marketing workflows: watch, extract, render, publish, track, optimize")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "reelflow maintainers <maintainers@reelflow.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION video)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # runtime library dependencies from dpkg-shlibdeps
set(CPACK_DEB_COMPONENT_INSTALL OFF)
include(CPack)
