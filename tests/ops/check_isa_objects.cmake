# ctest ops.isa_objects_share_no_symbols: every global symbol that an object compiled per instruction
# set (ops/detail/*_avx512.cpp, *_avx2.cpp, *_baseline.cpp) defines carries that instruction set in
# its name: its entry point, or code in its own namespace (voxgrad::...::<isa>, or Eigen renamed to
# voxgrad_eigen_<isa>). Any other global (a weak inline function or template instance, a std::
# helper) could also be defined by an object compiled for another instruction set, and the linker
# keeps one copy for all callers: an AVX-512 copy chosen for baseline callers would crash on a CPU
# without AVX-512. (DW.ref.__gxx_personality_v0 is a pointer to the C++ runtime, the same everywhere.)
# Run as: cmake -DNM=<nm> -DOBJECTS=<obj>|<obj>|... -P check_isa_objects.cmake
string(REPLACE "|" ";" objects "${OBJECTS}")
set(checked 0)
set(bad "")
foreach(obj IN LISTS objects)
  if(NOT obj MATCHES "_(avx512|avx2|baseline)\\.cpp\\.o$")
    continue()
  endif()
  set(isa "${CMAKE_MATCH_1}")
  math(EXPR checked "${checked} + 1")
  execute_process(COMMAND "${NM}" -C --defined-only "${obj}" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>": upper-case types, u, v and w are visible to other objects.
    if(NOT line MATCHES "^[0-9a-fA-F]* ([A-Zuvw]) (.*)$")
      continue()
    endif()
    set(name "${CMAKE_MATCH_2}")
    if(name MATCHES "^voxgrad::detail::(direct::${isa}_kernels|gemm_kernels_${isa}|norm_kernels_${isa})\\(\\)$" OR
       name MATCHES "voxgrad_eigen_${isa}::|::${isa}::" OR name STREQUAL "DW.ref.__gxx_personality_v0")
      continue()
    endif()
    string(APPEND bad "\n  ${obj}: ${line}")
  endforeach()
endforeach()
if(checked LESS 8)
  message(FATAL_ERROR "expected the 8 per-ISA objects among OBJECTS, found ${checked}: ${OBJECTS}")
endif()
if(bad)
  message(FATAL_ERROR "per-ISA objects define symbols other objects may define too:${bad}")
endif()
message(STATUS "${checked} per-ISA objects define only their entry points")
