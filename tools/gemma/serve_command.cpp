// `gemma serve`: the HTTP server (docs/server.md). Loopback by default; keys from --api-key,
// --api-key-file or GEMMA_API_KEY. Prints "gemma: listening on http://HOST:PORT" to stderr once
// the socket listens (the model loads after that; /health says 503 until it is ready).
#include <cstdlib>
#include <iostream>
#include <memory>

#include "commands.h"
#include "gemma/serve.h"

namespace gemma::cli {

Action add_serve_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand("serve", "Serve a model over HTTP (OpenAI API, /generate)");
  cmd->add_option("--model", o->model, "Model directory or Hugging Face hub id")->required();
  cmd->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port)")
      ->check(integer_in<uint16_t>(0))
      ->capture_default_str();
  cmd->add_option("--served-model-name", o->served_name, "Model id clients see");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", o->dtype,
                  "float32, bfloat16 or int8 (int8 weights, bfloat16 activations)")
      ->check(CLI::IsMember({"float32", "bfloat16", "int8"}))
      ->capture_default_str();
  cmd->add_option("--adapter", o->adapter, "LoRA adapter directory (PEFT format) merged on load");
  cmd->add_option("--max-batch", o->max_batch, "Requests decoded together")
      ->check(integer_in<int64_t>(1, 1024))
      ->capture_default_str();
  cmd->add_option("--max-waiting", o->max_waiting, "Queued requests before 429")
      ->check(integer_in<int64_t>(0, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->request_timeout, "Seconds per request before 504")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  cmd->add_option("--default-max-tokens", o->default_max_tokens,
                  "New tokens when a request sets none")
      ->check(integer_in<int64_t>(1))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->max_body_bytes, "Largest request body (413 beyond)")
      ->check(integer_in<uint64_t>(1, uint64_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--http-threads", o->http_threads, "I/O threads")
      ->check(integer_in<int>(1, 256))
      ->capture_default_str();
  cmd->add_flag("--allow-remote-media", o->allow_remote_media,
                "Let requests name http(s) media URLs for the server to download");
  cmd->add_option("--api-key", o->api_keys, "Accepted API key (repeatable)");
  cmd->add_option("--api-key-file", o->api_key_file, "File of API keys, one per line");
  cmd->add_option("--hmac-secret-file", o->hmac_secret_file,
                  "Require X-Signature: hex HMAC-SHA256 of the body with this secret");
  cmd->add_option("--rate-limit-requests", o->rate_limit_requests,
                  "Requests per window per key or client address (0: no limit)")
      ->check(integer_in<int64_t>(0));
  cmd->add_option("--rate-limit-tokens", o->rate_limit_tokens,
                  "Prompt + completion tokens per window (0: no limit)")
      ->check(integer_in<int64_t>(0));
  cmd->add_option("--rate-limit-window", o->rate_limit_window, "Window in seconds")
      ->check(CLI::Range(0.001, 1e9))
      ->capture_default_str();
  cmd->add_option("--price-input-per-1k", o->price_input_per_1k, "Cost of 1000 prompt tokens")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--price-output-per-1k", o->price_output_per_1k, "Cost of 1000 completion tokens")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--shutdown-grace", o->shutdown_grace,
                  "Seconds to finish requests in flight after SIGTERM")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  auto quiet = std::make_shared<bool>(false);
  cmd->add_flag("--no-access-log", *quiet, "No JSON access log lines on stderr");
  return [cmd, o, quiet]() -> int {
    if (!*cmd) return -1;
    o->access_log = !*quiet;
    if (const char* key = std::getenv("GEMMA_API_KEY"); key && *key) o->api_keys.push_back(key);
    const auto host = o->host;
    o->on_listening = [host](uint16_t port) {
      std::cerr << "gemma: listening on http://"
                << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << port
                << std::endl;
    };
    return serve(*o);
  };
}

}  // namespace gemma::cli
