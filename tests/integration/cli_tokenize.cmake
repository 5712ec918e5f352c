# `gemma tokenize` on the bundled tiny model; the ids are transformers' (tests/data/golden/tokenizer.json).
# Run with -P (CLI, MODEL, WORK defined) this file is instead the error check: a missing and a corrupt
# tokenizer.model must each give exit 1 and one [gemma.<category>] line naming the file.
if(CMAKE_SCRIPT_MODE_FILE)
  function(expect_error dir category)
    execute_process(COMMAND ${CLI} tokenize --model ${dir} --text hi
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 1 OR NOT out STREQUAL "" OR
       NOT err MATCHES "^gemma: \\[gemma\\.${category}\\] [^\n]*tokenizer\\.model[^\n]*\n$")
      message(FATAL_ERROR "expected exit 1 and a [gemma.${category}] error naming tokenizer.model, "
                          "got rc=${rc}: ${err}")
    endif()
  endfunction()

  file(REMOVE_RECURSE ${WORK})
  expect_error(${WORK}/missing io)
  file(COPY ${MODEL}/tokenizer.model ${MODEL}/tokenizer_config.json ${MODEL}/special_tokens_map.json
       DESTINATION ${WORK})
  execute_process(COMMAND truncate -s 1000 ${WORK}/tokenizer.model COMMAND_ERROR_IS_FATAL ANY)
  expect_error(${WORK} processor)
  return()
endif()

set(_model ${PROJECT_SOURCE_DIR}/models/tiny-gemma3n)

add_test(NAME cli.tokenize COMMAND gemma_cli tokenize --model ${_model} --text "Hello world")
set_tests_properties(cli.tokenize PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "^2 473 429 290 434 282 293 438 439\n$")

add_test(NAME cli.tokenize_no_special_tokens
  COMMAND gemma_cli tokenize --model ${_model} --text "Hello world" --no-special-tokens)
set_tests_properties(cli.tokenize_no_special_tokens PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "^473 429 290 434 282 293 438 439\n$")

add_test(NAME cli.tokenize_unicode COMMAND gemma_cli tokenize --model ${_model} --text "naïve café résumé")
set_tests_properties(cli.tokenize_unicode PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION
  "^2 432 431 202 182 396 291 431 446 202 176 428 433 202 176 435 441 442 202 176\n$")

# A rendered chat template starts with <bos>: one BOS, not two.
add_test(NAME cli.tokenize_rendered_template
  COMMAND gemma_cli tokenize --model ${_model}
          --text "<bos><start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n")
set_tests_properties(cli.tokenize_rendered_template PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "^2 5 441 435 271 17 473 436 269 268 6 17 5 442 391 429 438 17\n$")

add_test(NAME cli.tokenize_errors
  COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:gemma_cli> -DMODEL=${_model}
          -DWORK=${CMAKE_CURRENT_BINARY_DIR}/tokenize_errors -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(cli.tokenize_errors PROPERTIES LABELS integration)
