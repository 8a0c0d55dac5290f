# `packaging/dev package`: one .deb with the binaries, plugins, SDK (headers + CMake package) and
# the service: systemd unit, sysusers.d/tmpfiles.d, the default config (a conffile) and the
# maintainer scripts in packaging/debian/ (cmake/ReelflowSystemd.cmake installs the files).
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
# What dpkg-shlibdeps cannot see: the unit, sysusers.d and tmpfiles.d need systemd, but the
# binaries work without it (containers), and the postinst falls back to useradd there.
# fonts-noto-cjk: Chinese captions in video.render and the text of `reelflow optimize --plot`.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, fonts-noto-cjk")
# CPack 3.25 marks no file as a conffile by itself (debhelper does that for /etc, CPack does not):
# the conffiles list is explicit. Scripts get 0755 and data 0644 whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
