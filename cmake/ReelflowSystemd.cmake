# Installation rules for running reelflowd as a system service (COMPONENT service):
#
#   <prefix>/lib/systemd/system/reelflowd.service   the unit (packaging/systemd/reelflowd.service)
#   <prefix>/lib/sysusers.d/reelflow.conf           the reelflow system user and group
#   <prefix>/lib/tmpfiles.d/reelflow.conf           /var/lib/reelflow, /srv/reelflow/inbox
#   <etc>/reelflow/reelflowd.yaml                   the commented default config (a conffile)
#   <etc>/reelflow/workflows/                       empty: no workflow is enabled by default
#   <prefix>/share/doc/reelflow/README.md, examples/demo.yaml, examples/secrets.example
#
# <etc> is /etc when the prefix is /usr (the .deb, or a system install with --prefix /usr) and
# <prefix>/etc otherwise, so that `cmake --install build --prefix /opt/reelflow-sdk` never writes
# into the host's /etc. It is decided at install time because CPack installs with its own prefix
# (CPACK_PACKAGING_INSTALL_PREFIX), not the configured one.
# The .deb's maintainer scripts and conffiles list are wired in ReelflowPackage.cmake.

set(REELFLOW_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)

install(FILES ${REELFLOW_PACKAGING_DIR}/systemd/reelflowd.service
        DESTINATION lib/systemd/system
        COMPONENT service)
install(FILES ${REELFLOW_PACKAGING_DIR}/systemd/reelflow.sysusers
        DESTINATION lib/sysusers.d
        RENAME reelflow.conf
        COMPONENT service)
install(FILES ${REELFLOW_PACKAGING_DIR}/systemd/reelflow.tmpfiles
        DESTINATION lib/tmpfiles.d
        RENAME reelflow.conf
        COMPONENT service)

set(REELFLOW_DOC_INSTALL_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/reelflow)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${REELFLOW_DOC_INSTALL_DIR}
        COMPONENT service)
# Every example workflow (each is validated by the tests).
file(GLOB REELFLOW_EXAMPLE_WORKFLOWS ${PROJECT_SOURCE_DIR}/workflows/*.yaml)
install(FILES ${REELFLOW_EXAMPLE_WORKFLOWS}
              ${REELFLOW_PACKAGING_DIR}/secrets.example
        DESTINATION ${REELFLOW_DOC_INSTALL_DIR}/examples
        COMPONENT service)

# An empty directory to install as /etc/reelflow/workflows.
set(REELFLOW_EMPTY_WORKFLOWS_DIR ${PROJECT_BINARY_DIR}/packaging/workflows)
file(MAKE_DIRECTORY ${REELFLOW_EMPTY_WORKFLOWS_DIR})

# file(INSTALL) prepends $ENV{DESTDIR} to the destination itself, as the generated rules rely on.
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(reelflow_etc_dir /etc/reelflow)
  else()
    set(reelflow_etc_dir \"\${CMAKE_INSTALL_PREFIX}/etc/reelflow\")
  endif()
  file(INSTALL DESTINATION \"\${reelflow_etc_dir}\" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES \"${REELFLOW_PACKAGING_DIR}/reelflowd.yaml\")
  file(INSTALL DESTINATION \"\${reelflow_etc_dir}\" TYPE DIRECTORY
       DIR_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                       WORLD_READ WORLD_EXECUTE
       FILES \"${REELFLOW_EMPTY_WORKFLOWS_DIR}\")
  "
  COMPONENT service)
