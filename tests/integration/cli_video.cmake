# A 2 s video sampled at 1 frame per second becomes two frames, each placed in the prompt as an
# image: the prompt has exactly as many tokens as the same prompt with two images, and more than
# with one.
function(prompt_tokens out)
  execute_process(COMMAND ${CLI} run --model ${MODEL} ${ARGN} --prompt "What happens in this video?"
                          --greedy --max-new-tokens 1 --json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "exit ${rc}: ${err}")
  endif()
  string(JSON count GET "${json}" stats prompt_tokens)
  set(${out} ${count} PARENT_SCOPE)
endfunction()

set(image ${DATA}/images/rgb_landscape_256x160.png)
prompt_tokens(video --video ${DATA}/video/counter_20frames_10fps.avi)
prompt_tokens(two_images --image ${image} --image ${image})
prompt_tokens(one_image --image ${image})
if(NOT video EQUAL two_images OR NOT video GREATER one_image)
  message(FATAL_ERROR "prompt tokens: video ${video}, two images ${two_images}, one ${one_image}")
endif()
