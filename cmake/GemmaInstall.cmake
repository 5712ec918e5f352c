include(CMakePackageConfigHelpers)
get_target_property(GEMMA_LIB_TYPE gemma_torch TYPE)
set(GEMMA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gemma)

install(TARGETS gemma_torch EXPORT gemma-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gemma DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT gemma-targets NAMESPACE gemma:: DESTINATION ${GEMMA_CMAKE_DIR})
# Build-tree export, so a parent using add_subdirectory can export targets that depend on gemma.
export(EXPORT gemma-targets NAMESPACE gemma:: FILE ${PROJECT_BINARY_DIR}/gemma-targets.cmake)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/gemma-config.cmake.in
  ${PROJECT_BINARY_DIR}/gemma-config.cmake INSTALL_DESTINATION ${GEMMA_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gemma-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gemma-config.cmake ${PROJECT_BINARY_DIR}/gemma-config-version.cmake
              ${CMAKE_CURRENT_LIST_DIR}/GemmaTorch.cmake
        DESTINATION ${GEMMA_CMAKE_DIR})
