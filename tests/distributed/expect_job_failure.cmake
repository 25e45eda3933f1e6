# ctest driver for the fault tests: runs COMMAND (a ;-list), and passes only if it fails (non-zero
# exit) within LIMIT seconds and its output matches every regex in EXPECT (a ;-list); it is killed
# at LIMIT + 30 s, so a hang fails the test instead of stalling CI.
separate_arguments(cmd UNIX_COMMAND "${COMMAND}")
string(TIMESTAMP start "%s")
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT ${LIMIT_PLUS})
string(TIMESTAMP stop "%s")
math(EXPR elapsed "${stop} - ${start}")
message("exit: ${rc}; ${elapsed} s\n--- stdout\n${out}\n--- stderr\n${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the job succeeded, but a rank failed on purpose: the failure went unnoticed")
endif()
if(rc MATCHES "timeout" OR elapsed GREATER ${LIMIT})
  message(FATAL_ERROR "the job took ${elapsed} s to stop (limit ${LIMIT} s): the other ranks hung")
endif()
foreach(re IN LISTS EXPECT)
  if(NOT "${out}${err}" MATCHES "${re}")
    message(FATAL_ERROR "the output does not say why the job stopped (expected /${re}/)")
  endif()
endforeach()
