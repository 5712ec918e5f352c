# `gemma template` on the bundled tiny model. Run with -P (CLI, MODEL, DATA, WORK defined) this file
# renders every conversation of tests/data/golden/chat_template.json (made by transformers) through
# the CLI and compares stdout byte for byte, expects the template's raise_exception message for the
# invalid ones, and checks the errors for unusable messages files.
if(CMAKE_SCRIPT_MODE_FILE)
  # Runs the CLI on `messages`; sets rc, err and the stdout file of the run in the caller.
  function(run_template name messages)
    execute_process(COMMAND ${CLI} template --model ${MODEL} --messages ${messages} ${ARGN}
                    RESULT_VARIABLE rc OUTPUT_FILE ${WORK}/${name}.out ERROR_VARIABLE err)
    set(rc "${rc}" PARENT_SCOPE)
    set(err "${err}" PARENT_SCOPE)
    set(out_file ${WORK}/${name}.out PARENT_SCOPE)
  endfunction()

  function(expect_output name messages expected)
    run_template(${name} ${messages} ${ARGN})
    file(WRITE ${WORK}/${name}.expected "${expected}")
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${out_file} ${WORK}/${name}.expected
                    RESULT_VARIABLE differs)
    if(NOT rc EQUAL 0 OR differs)
      file(READ ${out_file} out)
      message(FATAL_ERROR "${name}: expected exit 0 and\n[${expected}]\ngot rc=${rc}\n[${out}]\n${err}")
    endif()
  endfunction()

  # Exit 1, nothing on stdout, and exactly one line on stderr matching `pattern`.
  function(expect_error name messages pattern)
    run_template(${name} ${messages})
    file(READ ${out_file} out)
    if(NOT rc EQUAL 1 OR NOT out STREQUAL "" OR NOT err MATCHES "^gemma: ${pattern}\n$")
      message(FATAL_ERROR "${name}: expected exit 1 and an error matching '${pattern}', "
                          "got rc=${rc}: ${err}")
    endif()
  endfunction()

  file(REMOVE_RECURSE ${WORK})
  file(MAKE_DIRECTORY ${WORK})
  file(READ ${DATA}/golden/chat_template.json golden)
  string(JSON count LENGTH "${golden}")
  math(EXPR last "${count} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${golden}" ${i} name)
    string(JSON messages GET "${golden}" ${i} messages)
    string(JSON generation_prompt GET "${golden}" ${i} add_generation_prompt)
    file(WRITE ${WORK}/${name}.json "${messages}")
    set(flags)
    if(NOT generation_prompt)
      set(flags --no-generation-prompt)
    endif()
    string(JSON rendered ERROR_VARIABLE no_rendering GET "${golden}" ${i} rendered)
    if(no_rendering)
      # transformers reports "TemplateError: <message>"; gemma too, after the template file and
      # the place of the raise_exception call.
      string(JSON error GET "${golden}" ${i} error)
      string(REGEX REPLACE "([][.*+?^$()|\\\\])" "\\\\\\1" pattern "${error}")
      expect_error(${name} ${WORK}/${name}.json
                   "\\[gemma\\.processor\\] [^\n]*chat_template.jinja line [0-9]+, column [0-9]+: ${pattern}")
    else()
      expect_output(${name} ${WORK}/${name}.json "${rendered}" ${flags})
      if(name STREQUAL "image_part")
        set(image_part_rendered "${rendered}")
      endif()
    endif()
  endforeach()

  # The committed example is the golden "image_part" conversation.
  if(NOT DEFINED image_part_rendered)
    message(FATAL_ERROR "no image_part conversation in chat_template.json")
  endif()
  expect_output(committed_image_part ${DATA}/messages/image_part.json "${image_part_rendered}")

  expect_error(malformed ${DATA}/messages/malformed.json
               "\\[gemma\\.invalid_argument\\] [^\n]*malformed\\.json: invalid JSON: [^\n]*")
  expect_error(not_a_list ${DATA}/messages/not_a_list.json
               "\\[gemma\\.invalid_argument\\] [^\n]*not_a_list\\.json: expected a JSON list of messages, got object")
  expect_error(message_not_an_object ${DATA}/messages/message_not_an_object.json
               "\\[gemma\\.invalid_argument\\] [^\n]*message_not_an_object\\.json\\[1\\]: a message must be a JSON object, got string")
  expect_error(missing_file ${WORK}/no-such-file.json
               "\\[gemma\\.io\\] cannot open [^\n]*no-such-file\\.json: no such file")
  expect_error(directory ${WORK} "\\[gemma\\.io\\] [^\n]*template is a directory, not a regular file")
  return()
endif()

add_test(NAME cli.template
  COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:gemma_cli> -DMODEL=${PROJECT_SOURCE_DIR}/models/tiny-gemma3n
          -DDATA=${PROJECT_SOURCE_DIR}/tests/data -DWORK=${CMAKE_CURRENT_BINARY_DIR}/template
          -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(cli.template PROPERTIES LABELS integration)

