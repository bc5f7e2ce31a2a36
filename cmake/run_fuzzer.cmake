# run_fuzzer.cmake — run one libFuzzer target for a fixed time as a CTest test.
#
#   cmake -DFUZZER=<exe> -DWORK=<dir> [-DSEED_CORPUS=<dir>] [-DSECONDS=20] -P run_fuzzer.cmake
#
# The working corpus and any crash artifacts go to a fresh WORK directory in
# the build tree; the seed corpus in the repository is only read.
if(NOT FUZZER OR NOT WORK)
  message(FATAL_ERROR "run_fuzzer.cmake: FUZZER and WORK are required")
endif()
if(NOT SECONDS)
  set(SECONDS 20)
endif()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")

set(_dirs "${WORK}/corpus")
if(SEED_CORPUS AND IS_DIRECTORY "${SEED_CORPUS}")
  list(APPEND _dirs "${SEED_CORPUS}")
endif()

execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -seed=1 -timeout=10
          -print_final_stats=1 "-artifact_prefix=${WORK}/artifacts/" ${_dirs}
  WORKING_DIRECTORY "${WORK}"
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${_rc}); the input that failed is in ${WORK}/artifacts")
endif()
