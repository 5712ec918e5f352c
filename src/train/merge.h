#pragma once
// Writing full checkpoints: a fine-tuned or merged model in transformers' layout.
#include <torch/nn/module.h>

#include <filesystem>

namespace gemma::train {

// Copies the model directory's config, tokenizer, processor and chat template files (everything
// but the weights) into `output_dir`.
void copy_model_files(const std::filesystem::path& model_dir, const std::filesystem::path& output_dir);

// Writes every parameter by its checkpoint name: model.safetensors, or shards of at most
// `max_shard_bytes` with model.safetensors.index.json as save_pretrained does.
void save_model_weights(torch::nn::Module& model, const std::filesystem::path& output_dir,
                        std::uint64_t max_shard_bytes = std::uint64_t{5} << 30);

}  // namespace gemma::train
