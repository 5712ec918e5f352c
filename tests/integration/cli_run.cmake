# `gemma run` end to end on the tiny model: chat template, tokenizer, model and greedy generate
# together must give transformers' continuation (tests/data/golden/model_a_text.safetensors,
# generated_ids: same prompt, do_sample=False, max_new_tokens=40).
add_test(NAME cli.run_greedy_matches_transformers
  COMMAND gemma_cli run --model ${_model} --prompt "Write a short poem about the sea and the wind."
          --greedy --max-new-tokens 40 --json)
set_tests_properties(cli.run_greedy_matches_transformers PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\"token_ids\":\\[213,211,190,476,211,247,242,458,432,177,498,110,372,222,303,223,69,374,113,158,470,369,3,39,256,51,168,329,34,10,137,491,208,177,53,492,118,124,341,27\\]")

# The static (fixed-shape) KV cache gives the same tokens.
add_test(NAME cli.run_static_cache_matches_transformers
  COMMAND gemma_cli run --model ${_model} --prompt "Write a short poem about the sea and the wind."
          --greedy --max-new-tokens 40 --cache-implementation static --json)
set_tests_properties(cli.run_static_cache_matches_transformers PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\"token_ids\":\\[213,211,190,476,211,247,242,458,432,177,498,110,372,222,303,223,69,374,113,158,470,369,3,39,256,51,168,329,34,10,137,491,208,177,53,492,118,124,341,27\\]")

# int8 weights (--dtype int8) through the CLI: the flag reaches the loader and a greedy reply of the
# requested length comes back (its accuracy: tests/golden/text_model_test.cpp). Under ASan too.
add_test(NAME cli.run_int8
  COMMAND gemma_cli run --model ${_model} --prompt "Write a short poem about the sea and the wind."
          --greedy --max-new-tokens 8 --dtype int8 --json)
set_tests_properties(cli.run_int8 PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION
  "\"token_ids\":\\[[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+\\]")

# Streaming to stdout with sampling options, a stop string and the bf16 path: the streamed text is
# exactly what --json reports for the same seeded run, and not empty.
add_test(NAME cli.run_streams
  COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:gemma_cli> -DMODEL=${_model}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_stream.cmake)
set_tests_properties(cli.run_streams PROPERTIES LABELS integration)

add_test(NAME cli.run_rejects_overlong_prompt
  COMMAND gemma_cli run --model ${_model} --prompt "Hello" --max-new-tokens 100000)
set_tests_properties(cli.run_rejects_overlong_prompt PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\\[gemma.generation\\] prompt of [0-9]+ tokens plus max_new_tokens 100000")

# Images, audio and video on the command line: the processor expands the placeholders, the towers
# run, and greedy decoding gives transformers' continuation (model_d_image / model_e_audio goldens).
set(_data ${PROJECT_SOURCE_DIR}/tests/data)
add_test(NAME cli.run_image_matches_transformers
  COMMAND gemma_cli run --model ${_model} --image ${_data}/images/rgb_landscape_256x160.png
          --prompt "What do you see?" --greedy --max-new-tokens 40 --json)
set_tests_properties(cli.run_image_matches_transformers PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\"token_ids\":\\[449,506,393,170,53,59,221,448,341,124,341,250,221,158,152,479,369,401,443,35,499,65,264,218,255,247,147,77,242,237,118,498,470,118,83,101,223,227,342,101\\]")

add_test(NAME cli.run_audio_matches_transformers
  COMMAND gemma_cli run --model ${_model} --audio ${_data}/audio/sine440_1s_16k_mono.wav
          --prompt "Transcribe this audio." --greedy --max-new-tokens 40 --json)
set_tests_properties(cli.run_audio_matches_transformers PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\"token_ids\":\\[504,118,124,152,264,17,499,213,211,175,62,101,241,378,363,505,73,110,156,400,394,24,162,381,468,208,337,467,399,27,47,331,152,440,332,236,342,208,245,443\\]")

# 2 s of video at 1 frame per second: 2 frames, i.e. the prompt of two images.
add_test(NAME cli.run_video
  COMMAND ${CMAKE_COMMAND} -DCLI=$<TARGET_FILE:gemma_cli> -DMODEL=${_model} -DDATA=${_data}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/cli_video.cmake)
set_tests_properties(cli.run_video PROPERTIES LABELS integration)

# 45 s of audio: split into a 30 s and a 15 s clip, with a notice; or refused on request.
add_test(NAME cli.run_long_audio_is_split
  COMMAND gemma_cli run --model ${_model} --audio ${_data}/audio/long_45s_16k_mono.flac
          --prompt "Transcribe this audio." --greedy --max-new-tokens 4)
set_tests_properties(cli.run_long_audio_is_split PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "notice: audio '[^']*long_45s_16k_mono.flac' \\(45.0 s\\) is longer than 30 s: split into 2 clips")
add_test(NAME cli.run_long_audio_error
  COMMAND gemma_cli run --model ${_model} --audio ${_data}/audio/long_45s_16k_mono.flac
          --prompt "Transcribe this audio." --long-audio error)
set_tests_properties(cli.run_long_audio_error PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\\[gemma.processor\\] audio [^ ]*long_45s_16k_mono.flac[^:]*: audio of 45 s")

add_test(NAME cli.run_rejects_corrupt_image
  COMMAND gemma_cli run --model ${_model} --image ${_data}/images/bad/truncated.png --prompt "Hi")
set_tests_properties(cli.run_rejects_corrupt_image PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "truncated.png")
