#pragma once
/// Model inputs as transformers' processors return them (BatchFeature), shared by Processor (which
/// makes them) and Model (which consumes them).
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace gemma {

/// transformers' BatchFeature, with its field names. Undefined tensors for absent modalities.
/// Processor returns CPU tensors; Model accepts them on any device. A plain value: copies share
/// the tensors (at::Tensor is a reference).
struct BatchEncoding {
  at::Tensor input_ids;            ///< [B, T] int64, left-padded with pad_token_id
  at::Tensor attention_mask;       ///< [B, T] int64, 0 on padding
  at::Tensor token_type_ids;       ///< [B, T] int64: 0 text, 1 image soft token, 3 audio soft token
  at::Tensor pixel_values;         ///< [images, 3, H, W] float32, images of all rows in order
  at::Tensor input_features;       ///< [clips, frames, mel bins] float32, clips of all rows in order
  at::Tensor input_features_mask;  ///< [clips, frames] bool, true = real audio
  std::vector<std::string> text;   ///< each row's prompt with placeholders expanded
  /// Things the user should hear about, e.g. "audio 'talk.wav' (45.0 s) was split into 2 clips".
  std::vector<std::string> notices;

  /// Rows B; 0 when input_ids is undefined.
  int64_t batch_size() const { return input_ids.defined() ? input_ids.size(0) : 0; }
};

}  // namespace gemma
