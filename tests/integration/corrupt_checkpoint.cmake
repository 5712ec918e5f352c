# Copies the tiny model, truncates its weights, and expects `gemma info` to fail with one clear line
# naming the file (a crash would give another exit code).
file(REMOVE_RECURSE ${WORK})
file(COPY ${MODEL}/ DESTINATION ${WORK})
execute_process(COMMAND truncate -s 3000 ${WORK}/model.safetensors COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CLI} info --model ${WORK} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "\\[gemma.weights\\] [^\n]*model.safetensors")
  message(FATAL_ERROR "expected exit 1 and a [gemma.weights] error naming model.safetensors, "
                      "got rc=${rc}: ${err}")
endif()
