# Installs the already-built library into a scratch prefix, then configures, builds and runs a
# separate project that finds it with find_package(voxgrad).
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${VOXGRAD_BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed (${rc})")
endif()
# The public surface: no internal detail/ folder, no internal header, and no installed header that
# includes one (it would not compile for a consumer).
file(GLOB_RECURSE installed_dirs LIST_DIRECTORIES true "${prefix}/include/voxgrad/*")
foreach(path IN LISTS installed_dirs)
  if(IS_DIRECTORY "${path}" AND path MATCHES "/detail$")
    message(FATAL_ERROR "internal detail/ headers were installed: ${path}")
  endif()
endforeach()
file(GLOB_RECURSE installed_headers "${prefix}/include/voxgrad/*.h")
foreach(header IN LISTS installed_headers)
  file(STRINGS "${header}" detail_includes REGEX "^[ \t]*#[ \t]*include[ \t]+[<\"]voxgrad/.*/detail/")
  if(detail_includes)
    message(FATAL_ERROR "${header} includes an internal header: ${detail_includes}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}" -B "${WORK_DIR}/build"
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                        # the same compiler and sanitizer flags as the library build (asan preset)
                        "-DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER}"
                        "-DCMAKE_CXX_FLAGS=${CONSUMER_CXX_FLAGS}"
                        "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_LINKER_FLAGS}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer project failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer project failed (${rc})")
endif()
execute_process(COMMAND "${WORK_DIR}/build/consumer" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer program failed (${rc})")
endif()
