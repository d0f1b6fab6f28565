# Install layout (FHS, as a Debian package has it) and the .deb (CPack).
#   cmake --install build          /usr/bin/drwatchd, /lib/systemd/system/drwatchd.service,
#                                  /etc/drwatch/drwatch.yml, /usr/share/drwatch/, /usr/share/doc/drwatch/
#   cpack --config build/CPackConfig.cmake -G DEB    build/drwatch_<version>_<arch>.deb
# The unit's ExecStart names /usr/bin/drwatchd: keep CMAKE_INSTALL_PREFIX at /usr
# (the default here) when installing for systemd.

include(GNUInstallDirs)

# Installing and packing copy what is built; they never build (the tests run
# cpack on a finished tree and must not rebuild it under another engineer's
# feet). Build first: cmake --build build.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(DRWATCH_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH "Where the systemd unit is installed")
set(DRWATCH_CONFIG_DIR /etc/drwatch CACHE PATH "Where the check catalogue is installed")

# /etc/drwatch/drwatch.yml is the example catalogue, reading its DSN from the
# credential the unit loads (LoadCredential=prmcms_dsn:/etc/drwatch/prmcms_dsn).
# ${cred:} rather than a /run/credentials/drwatchd.service/ path, so the
# command-line tools run with `systemd-run -p LoadCredential=…` (another unit,
# another directory, same $CREDENTIALS_DIRECTORY) load the same catalogue.
set(example ${PROJECT_SOURCE_DIR}/config/drwatch.example.yml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${example})
file(READ ${example} example_text)
set(env_dsn "\"\${env:PRMCMS_DSN}\"")
set(credential_dsn "\"\${cred:prmcms_dsn}\"")
string(FIND "${example_text}" "${env_dsn}" at)
if(at EQUAL -1)
  message(WARNING "config/drwatch.example.yml has no ${env_dsn}: /etc/drwatch/drwatch.yml will not read the systemd credential")
endif()
string(REPLACE "${env_dsn}" "${credential_dsn}" etc_text "${example_text}")
file(WRITE ${CMAKE_BINARY_DIR}/packaging/drwatch.yml
  "# Installed by the drwatch package from /usr/share/drwatch/drwatch.example.yml.\n"
  "# The DSN is read from /etc/drwatch/prmcms_dsn, which systemd hands to the\n"
  "# service as the credential prmcms_dsn (see drwatchd.service).\n"
  "${etc_text}")

install(FILES ${PROJECT_SOURCE_DIR}/systemd/drwatchd.service DESTINATION ${DRWATCH_SYSTEMD_UNIT_DIR})
install(FILES ${CMAKE_BINARY_DIR}/packaging/drwatch.yml DESTINATION ${DRWATCH_CONFIG_DIR})
install(FILES ${example} DESTINATION ${CMAKE_INSTALL_DATADIR}/drwatch)
# Delivered separately (alert rules and dashboard): installed when present.
install(FILES ${PROJECT_SOURCE_DIR}/config/alerts/drwatch.rules.yml
              ${PROJECT_SOURCE_DIR}/config/alerts/alertmanager.example.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/drwatch/alerts OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/config/grafana/drwatch.json
        DESTINATION ${CMAKE_INSTALL_DATADIR}/drwatch/grafana OPTIONAL)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/drwatch)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/drwatch/docs
        FILES_MATCHING PATTERN "*.md")

# The .deb. Dependencies come from dpkg-shlibdeps (dpkg-dev) on the binary.
configure_file(${PROJECT_SOURCE_DIR}/packaging/deb/conffiles.in ${CMAKE_BINARY_DIR}/packaging/deb/conffiles @ONLY)
foreach(script postinst prerm postrm)
  file(COPY ${PROJECT_SOURCE_DIR}/packaging/deb/${script} DESTINATION ${CMAKE_BINARY_DIR}/packaging/deb
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drwatch)
set(CPACK_PACKAGE_VENDOR "drwatch")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "drwatch maintainers <drwatch-maintainers@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "backup and disaster-recovery health exporter for PostgreSQL")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "backup and disaster-recovery health exporter for PostgreSQL\n"
  "drwatchd runs a YAML catalogue of checks (database reachability, newest\n"
  "row age, custom queries) against a PostgreSQL or Supabase application and\n"
  "exports the results, and the recovery objectives (RPO/RTO) they feed, as\n"
  "Prometheus metrics. Ships a hardened systemd unit, an example catalogue,\n"
  "Prometheus alert rules and a Grafana dashboard.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, prometheus-alertmanager")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_BINARY_DIR}/packaging/deb/conffiles
  ${CMAKE_BINARY_DIR}/packaging/deb/postinst
  ${CMAKE_BINARY_DIR}/packaging/deb/prerm
  ${CMAKE_BINARY_DIR}/packaging/deb/postrm)
include(CPack)
