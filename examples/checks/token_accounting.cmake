# Budget mode with prices of 2 and 6 per 1K input / output tokens: every reply within 64 tokens,
# every cost equal to (input × 2 + output × 6) / 1000, and the totals equal to the sums.
execute_process(
  COMMAND ${EXAMPLE} --model ${MODEL} --budget --input-price-per-1k 2 --output-price-per-1k 6
          --seed 1
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit code ${rc}")
endif()
if(NOT out MATCHES "budget mode: max_new_tokens 64, temperature 0.3")
  message(FATAL_ERROR "budget mode not announced")
endif()

# "0.424000" (dollars, as printed) → 424000: the cost in micro-dollars.
function(micro_dollars text out_var)
  string(REPLACE "." "" digits "${text}")
  string(REGEX REPLACE "^0+([0-9])" "\\1" digits "${digits}")
  set(${out_var} ${digits} PARENT_SCOPE)
endfunction()

string(REGEX MATCHALL "request [0-9]+: [0-9]+ input \\+ [0-9]+ output tokens, cost \\$[0-9.]+"
       requests "${out}")
list(LENGTH requests count)
if(NOT count EQUAL 3)
  message(FATAL_ERROR "expected 3 requests, got ${count}")
endif()
set(sum_in 0)
set(sum_out 0)
foreach(line IN LISTS requests)
  string(REGEX MATCH ": ([0-9]+) input \\+ ([0-9]+) output tokens, cost \\$([0-9.]+)" _ "${line}")
  set(in ${CMAKE_MATCH_1})
  set(output ${CMAKE_MATCH_2})
  micro_dollars(${CMAKE_MATCH_3} cost)
  if(in LESS 1 OR output LESS 1 OR output GREATER 64)
    message(FATAL_ERROR "implausible token counts: ${line}")
  endif()
  math(EXPR expected "(${in} * 2 + ${output} * 6) * 1000")
  if(NOT cost EQUAL expected)
    message(FATAL_ERROR "wrong cost (${cost} micro-dollars, expected ${expected}): ${line}")
  endif()
  math(EXPR sum_in "${sum_in} + ${in}")
  math(EXPR sum_out "${sum_out} + ${output}")
endforeach()

if(NOT out MATCHES "total: 3 requests, ${sum_in} input \\+ ${sum_out} output tokens, cost \\$([0-9.]+)")
  message(FATAL_ERROR "totals do not add up to ${sum_in} input + ${sum_out} output tokens")
endif()
micro_dollars(${CMAKE_MATCH_1} total)
math(EXPR expected "(${sum_in} * 2 + ${sum_out} * 6) * 1000")
if(NOT total EQUAL expected)
  message(FATAL_ERROR "total cost ${total} micro-dollars, expected ${expected}")
endif()
