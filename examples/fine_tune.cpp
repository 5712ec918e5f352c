// The recipes' fine-tuning (TRL's SFTTrainer with a PEFT LoraConfig) from C++: LoRA on q_proj and
// v_proj of a Gemma 3n model over a JSON-lines file of conversations, then the adapter applied
// to answer a question, as PeftModel.from_pretrained + generate would.
//   gemma_example_fine_tune [--model DIR] [--data train.jsonl] [--output DIR] [--max-steps N]
#include <gemma/error.h>
#include <gemma/pipeline.h>
#include <gemma/train.h>

#include <iostream>

#include "common/args.h"

int main(int argc, char** argv) {
  try {
    const examples::Args args(argc, argv);
    gemma::TrainingArguments training;
    training.model = examples::model_id(args);
    training.train_data = args.text("data", "tests/data/golden/train/data/train.jsonl");
    training.output_dir = args.text("output", "fine-tuned-adapter");
    training.method = "lora";
    training.lora.r = 16;  // LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05,
    training.lora.lora_alpha = 32;  //            target_modules=["q_proj", "v_proj"])
    training.lora.lora_dropout = 0.05;
    training.lora.target_modules = {"q_proj", "v_proj"};
    training.per_device_train_batch_size = 1;
    training.gradient_accumulation_steps = 8;
    training.learning_rate = 2e-5;
    training.max_steps = args.integer("max-steps", 4);
    training.logging_steps = 1;
    training.save_steps = 1000;
    training.device = examples::model_options(args).device;
    training.dtype = examples::model_options(args).dtype;
    args.reject_unknown();

    const auto result = gemma::fine_tune(training, [](const std::string& log) {
      std::cout << "log: " << log << "\n";
    });
    std::cout << "trained " << result.global_step << " steps, mean loss " << result.training_loss
              << ", adapter in " << result.output.string() << "\n";

    // The adapter merged into the weights on load, then the recipe's pipeline call.
    gemma::PipelineOptions options;
    options.device = training.device;
    options.dtype = training.dtype;
    options.adapter = result.output;
    const auto pipe = gemma::pipeline("image-text-to-text", training.model, options);
    gemma::GenerationConfig greedy;
    greedy.max_new_tokens = 16;
    greedy.do_sample = false;
    const auto reply = pipe({gemma::chat::user("What is the capital of France?")}, greedy);
    std::cout << "reply with the adapter: " << reply.tokens.size() << " tokens: " << reply.text
              << "\n";
  } catch (const gemma::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
