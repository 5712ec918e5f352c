# `gemma run` streams the reply as it is generated: the streamed stdout must be exactly the text
# that --json reports for the same seeded sampling run (and that text must not be empty).
set(args run --model ${MODEL} --prompt "Hello" --temperature 0.8 --top-k 40 --top-p 0.9
         --min-p 0.05 --repetition-penalty 1.1 --seed 3 --stop "xyz" --max-new-tokens 12
         --dtype bfloat16)
execute_process(COMMAND ${CLI} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE streamed
                ERROR_VARIABLE err)
execute_process(COMMAND ${CLI} ${args} --json RESULT_VARIABLE rc_json OUTPUT_VARIABLE json
                ERROR_VARIABLE err_json)
if(NOT rc EQUAL 0 OR NOT rc_json EQUAL 0)
  message(FATAL_ERROR "exit ${rc} / ${rc_json}: ${err}${err_json}")
endif()
string(JSON text GET "${json}" text)
string(JSON tokens LENGTH "${json}" token_ids)
if(tokens LESS 1 OR text STREQUAL "" OR NOT streamed STREQUAL "${text}\n")
  message(FATAL_ERROR "streamed [${streamed}] but --json says [${text}] (${tokens} tokens)")
endif()
