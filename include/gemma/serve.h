#pragma once
/// `gemma serve`: an OpenAI-compatible HTTP server (POST /v1/chat/completions, GET /v1/models,
/// POST /v1/audio/transcriptions), the recipe's POST /generate and GET /health, and Prometheus
/// GET /metrics, with continuous batching, API keys, request signatures, rate limits and cost
/// accounting. docs/server.md describes every route, option and metric.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "gemma/export.h"
#include "gemma/hub.h"
#include "gemma/media_limits.h"

namespace gemma {

struct ServeOptions {
  std::string model;               ///< a model directory or hub id
  std::string served_name;         ///< the model id clients see; default: the directory's name
  std::string host = "127.0.0.1";  ///< loopback by default: opt in to other interfaces
  uint16_t port = 8000;            ///< 0 picks a free port (see on_listening)
  std::string device = "cpu";
  std::string dtype = "float32";
  std::filesystem::path adapter;  ///< a LoRA adapter merged on load (ModelOptions::adapter)
  HubOptions hub = {};

  int64_t max_batch = 8;             ///< requests decoded together (continuous batching)
  int64_t max_waiting = 64;          ///< queued requests beyond the batch; more get 429
  double request_timeout = 600;      ///< seconds from arrival to the last token; then 504
  int64_t default_max_tokens = 512;  ///< when a request sets none (bounded by the context)
  uint64_t max_body_bytes = uint64_t{32} << 20;  ///< larger bodies get 413
  int http_threads = 2;                          ///< I/O threads (generation has its own)
  bool allow_remote_media =
      false;               ///< let requests name http(s) media URLs for the server to fetch
  MediaLimits media = {};  ///< per-request caps on media (bytes, pixels, download time)

  std::vector<std::string> api_keys;       ///< "Authorization: Bearer <key>"; none: no keys
  std::filesystem::path api_key_file;      ///< more keys, one per line ('#' comments)
  std::string hmac_secret;                 ///< non-empty: X-Signature = hex HMAC-SHA256 of the body
  std::filesystem::path hmac_secret_file;  ///< the secret from a file instead
  int64_t rate_limit_requests = 0;         ///< per key (or client address) per window; 0: none
  int64_t rate_limit_tokens = 0;           ///< prompt + completion tokens per window; 0: none
  double rate_limit_window = 3600;         ///< seconds

  double price_input_per_1k = 0;   ///< cost of 1000 prompt tokens (the recipe's CostTracker)
  double price_output_per_1k = 0;  ///< cost of 1000 completion tokens

  double shutdown_grace = 30;  ///< seconds to finish requests in flight after SIGTERM
  bool access_log = true;      ///< one JSON line per request on stderr (never prompts or replies)

  /// Called once the socket listens (before the model has loaded), with the bound port.
  std::function<void(uint16_t port)> on_listening = {};
};

/// Runs the server until SIGTERM or SIGINT, then drains: stops accepting, lets requests in flight
/// finish within shutdown_grace, answers the rest with 503. Returns 0 after a clean shutdown.
/// Throws what loading the model throws (the server then stops), IoError when the address cannot
/// be bound, InvalidArgumentError for impossible options.
GEMMA_API int serve(const ServeOptions& options);

}  // namespace gemma
