# `gemma run` end to end on the tiny model: chat template, tokenizer, model and greedy generate
# together must give transformers' continuation (tests/data/golden/model_a_text.safetensors,
# generated_ids: same prompt, do_sample=False, max_new_tokens=40).
add_test(NAME cli.run_greedy_matches_transformers
  COMMAND gemma_cli run --model ${_model} --prompt "Write a short poem about the sea and the wind."
          --greedy --max-new-tokens 40 --json)
set_tests_properties(cli.run_greedy_matches_transformers PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\"token_ids\":\\[213,211,190,476,211,247,242,458,432,177,498,110,372,222,303,223,69,374,113,158,470,369,3,39,256,51,168,329,34,10,137,491,208,177,53,492,118,124,341,27\\]")

# Streaming to stdout with sampling options, a stop string and the bf16 path.
add_test(NAME cli.run_streams
  COMMAND gemma_cli run --model ${_model} --prompt "Hello" --temperature 0.8 --top-k 40 --top-p 0.9
          --min-p 0.05 --repetition-penalty 1.1 --seed 3 --stop "xyz" --max-new-tokens 12
          --dtype bfloat16)
set_tests_properties(cli.run_streams PROPERTIES LABELS integration)

add_test(NAME cli.run_rejects_bad_options
  COMMAND gemma_cli run --model ${_model} --prompt "Hello" --greedy --temperature 0.5)
set_tests_properties(cli.run_rejects_bad_options PROPERTIES LABELS integration WILL_FAIL ON)

add_test(NAME cli.run_rejects_overlong_prompt
  COMMAND gemma_cli run --model ${_model} --prompt "Hello" --max-new-tokens 100000)
set_tests_properties(cli.run_rejects_overlong_prompt PROPERTIES LABELS integration
  PASS_REGULAR_EXPRESSION "\\[gemma.generation\\] prompt of [0-9]+ tokens plus max_new_tokens 100000")
