// `gemma serve`: the routes over the HTTP layer, the scheduler and the guards (keys, signatures,
// rate limits), and the process around them (model loading in the background, signals, drain).
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <deque>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "gemma/audio.h"
#include "gemma/error.h"
#include "gemma/model.h"
#include "gemma/processor.h"
#include "gemma/serve.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/multipart.h"
#include "server/nvml.h"
#include "server/openai.h"
#include "server/rate_limit.h"
#include "server/scheduler.h"

namespace gemma {
namespace {

using server::ApiError;
using server::HttpRequest;
using server::HttpResponder;
using server::JobEvent;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kJson = "application/json";
// Route names as std::string objects: GCC 12 rejects string literals bound to a `const
// std::string&` parameter inside coroutines ("array used as initializer").
const std::string kChatRoute = "/v1/chat/completions", kGenerateRoute = "/generate",
                  kTranscribeRoute = "/v1/audio/transcriptions";

// Events of one job, from the scheduler thread to the request's coroutine: a locked queue and a
// one-slot channel that wakes the coroutine (a full slot already means "look again").
class EventChannel {
 public:
  explicit EventChannel(const net::any_io_executor& executor) : wake_(executor, 1) {}
  void push(JobEvent event) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    wake_.try_send(boost::system::error_code{});
  }
  net::awaitable<JobEvent> next() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (!events_.empty()) {
          auto event = std::move(events_.front());
          events_.pop_front();
          co_return event;
        }
      }
      co_await wake_.async_receive(net::use_awaitable);
    }
  }

 private:
  std::mutex mutex_;
  std::deque<JobEvent> events_;
  net::experimental::concurrent_channel<void(boost::system::error_code)> wake_;
};

// {"<key>": value}; not built inside a coroutine, where GCC 12 trips over the literal.
std::string one_field(const char* key, const std::string& value) {
  nlohmann::json body;
  body[key] = value;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A job's end in the access log: its tokens, and its error or finish reason.
void log_end(HttpResponder& out, const JobEvent& end) {
  out.log["prompt_tokens"] = end.prompt_tokens;
  out.log["completion_tokens"] = end.completion_tokens;
  if (end.kind == JobEvent::Kind::kError) {
    out.log["error"] = end.error_code.empty() ? end.error_type : end.error_code;
  } else {
    out.log["ttft_ms"] = end.time_to_first_token * 1000;
    out.log["finish_reason"] = end.finish_reason;
  }
}

class Server {
 public:
  explicit Server(const ServeOptions& options);
  net::awaitable<void> handle(const HttpRequest& request, HttpResponder& out);
  net::awaitable<void> route(const std::string& path, const HttpRequest& request,
                             HttpResponder& out);
  void load();  // on its own thread
  bool idle() const {
    const auto scheduler = scheduler_.load();
    return !scheduler || scheduler->in_flight() == 0;
  }
  void stop_scheduler() { scheduler_.store(nullptr); }
  // What loading threw, if it failed (read after the loading thread has ended).
  std::exception_ptr load_error() const { return load_error_; }
  std::atomic<bool> draining{false};

 private:
  struct Guarded {
    std::string client;  // key id, or the client's address without keys
  };
  Guarded guard(const HttpRequest& request, bool check_rate);
  server::Job job_for(Conversation conversation, GenerationConfig generation,
                      std::vector<std::string> stop) const;
  net::awaitable<void> chat(const HttpRequest& request, HttpResponder& out, const Guarded& who);
  net::awaitable<void> generate(const HttpRequest& request, HttpResponder& out, const Guarded& who);
  net::awaitable<void> transcribe(const HttpRequest& request, HttpResponder& out,
                                  const Guarded& who);
  // Submits `job`; the channel its events arrive on. ApiError 429 when the queue is full.
  std::shared_ptr<EventChannel> submit(server::Job& job, const net::any_io_executor& executor);
  // Waits for the end of a non-streaming job (the client's leaving cancels it).
  net::awaitable<JobEvent> collect(server::Job& job, HttpResponder& out, std::string& text);
  server::Usage account(const std::string& client, const JobEvent& done, HttpResponder& out,
                        Clock::time_point start);
  static ApiError job_error(const JobEvent& e);
  net::awaitable<void> send_error(HttpResponder& out, const ApiError& e, const std::string& route);
  std::string next_id() { return fmt::format("chatcmpl-{:x}{:08x}", unix_time(), ++next_id_); }

  ServeOptions options_;
  std::string name_;
  int64_t created_ = unix_time();
  server::ApiKeys keys_;
  std::optional<server::BodySigner> signer_;
  server::RateLimiter limiter_;
  server::Metrics metrics_;
  std::optional<Model> model_;
  std::optional<Processor> processor_;
  // Atomic: the drain drops it on one I/O thread while handlers on others may be using it; a
  // handler's copy keeps it alive until that handler is done with it.
  std::atomic<std::shared_ptr<server::Scheduler>> scheduler_;
  std::atomic<bool> ready_{false};
  std::exception_ptr load_error_;
  std::atomic<uint64_t> next_id_{0};
};

std::string served_name(const ServeOptions& options) {
  if (!options.served_name.empty()) return options.served_name;
  auto path = std::filesystem::path(options.model);
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return options.model;  // a hub id, as given
  if (!path.has_filename()) path = path.parent_path();
  return path.filename().empty() ? options.model : path.filename().string();
}

Server::Server(const ServeOptions& options)
    : options_(options),
      name_(served_name(options)),
      limiter_(server::RateLimits{options.rate_limit_requests, options.rate_limit_tokens,
                                  options.rate_limit_window}) {
  for (const auto& key : options.api_keys) keys_.add(key);
  if (!options.api_key_file.empty()) {
    for (auto& key : server::read_api_key_file(options.api_key_file)) keys_.add(std::move(key));
  }
  if (!options.hmac_secret.empty()) signer_.emplace(options.hmac_secret);
  if (!options.hmac_secret_file.empty()) {
    signer_.emplace(server::read_secret_file(options.hmac_secret_file));
  }
  // Written so that NaN fails every check.
  const bool times_ok = options.request_timeout > 0 && options.shutdown_grace >= 0 &&
                        std::isfinite(options.request_timeout) &&
                        std::isfinite(options.shutdown_grace);
  const bool prices_ok = options.price_input_per_1k >= 0 && options.price_output_per_1k >= 0 &&
                         std::isfinite(options.price_input_per_1k) &&
                         std::isfinite(options.price_output_per_1k);
  if (options.max_batch < 1 || options.max_waiting < 0 || options.default_max_tokens < 1 ||
      options.http_threads < 1 || !times_ok || !prices_ok) {
    throw InvalidArgumentError(
        "serve needs max_batch >= 1, max_waiting >= 0, default_max_tokens >= 1, "
        "http_threads >= 1, a finite request_timeout > 0, shutdown_grace >= 0 and prices >= 0");
  }
}

void Server::load() {
  try {
    ModelOptions model_options;
    model_options.device = options_.device;
    model_options.dtype = options_.dtype;
    model_options.hub = options_.hub;
    model_options.adapter = options_.adapter;
    const auto dir = resolve_model(options_.model, options_.hub);
    model_.emplace(Model::from_pretrained(dir, model_options));
    processor_.emplace(Processor::from_pretrained(dir));
    server::SchedulerOptions scheduler;
    scheduler.max_batch = options_.max_batch;
    scheduler.max_waiting = options_.max_waiting;
    scheduler.default_max_tokens = options_.default_max_tokens;
    scheduler.chat.media = options_.media;
    scheduler_.store(std::make_shared<server::Scheduler>(*model_, *processor_, scheduler));
    ready_ = true;
  } catch (...) {
    load_error_ = std::current_exception();
  }
}

Server::Guarded Server::guard(const HttpRequest& request, bool check_rate) {
  Guarded who{request.remote};
  if (!keys_.empty()) {
    auto key = keys_.check(request.header("Authorization"));
    if (!key) {
      throw ApiError(401, "authentication_error",
                     "missing or invalid API key: send it as 'Authorization: Bearer <key>'",
                     "invalid_api_key");
    }
    who.client = *key;
  }
  if (signer_ && !signer_->verify(request.body, request.header("X-Signature"))) {
    throw ApiError(401, "authentication_error",
                   "missing or invalid X-Signature: hex HMAC-SHA256 of the body",
                   "invalid_signature");
  }
  if (check_rate) {
    const auto decision = limiter_.admit(who.client);
    if (!decision.allowed) {
      throw ApiError(429, "rate_limit_error",
                     fmt::format("rate limit of {} reached for this client; retry after {} s",
                                 decision.reason, std::ceil(decision.retry_after_seconds)),
                     "rate_limit_exceeded",
                     std::to_string(static_cast<int64_t>(std::ceil(decision.retry_after_seconds))));
    }
  }
  return who;
}

net::awaitable<void> Server::send_error(HttpResponder& out, const ApiError& e,
                                        const std::string& route) {
  server::Headers extra;
  // A 429 carries its Retry-After in `param` on the way here; clients see it as the header.
  auto body_error = e;
  if (e.status == 429) {
    extra.emplace_back("Retry-After", e.param.empty() ? "1" : e.param);
    body_error.param.clear();
  }
  if (e.status == 401) extra.emplace_back("WWW-Authenticate", "Bearer");
  metrics_.request(route, e.status);
  out.log["error"] = e.code.empty() ? e.type : e.code;
  co_await out.send(e.status, kJson, server::error_body(body_error), extra);
}

net::awaitable<void> Server::handle(const HttpRequest& request, HttpResponder& out) {
  const auto path = std::string(request.path());
  std::optional<ApiError> error;
  try {
    co_await route(path, request, out);
  } catch (const ApiError& e) {
    error = e;
  } catch (const Error& e) {
    error = ApiError(400, "invalid_request_error", std::string(e.message()), "invalid_value");
  }
  // Sent here: a coroutine cannot co_await inside a catch block.
  if (error) co_await send_error(out, *error, path);
}

net::awaitable<void> Server::route(const std::string& path, const HttpRequest& request,
                                   HttpResponder& out) {
  if (path == "/health") {
    const bool ok = ready_ && !draining;
    metrics_.request(path, ok ? 200 : 503);
    co_await out.send(ok ? 200 : 503, kJson,
                      ok ? R"({"status":"healthy"})"
                         : (draining ? R"({"status":"draining"})" : R"({"status":"loading"})"));
    co_return;
  }
  const bool known = path == "/metrics" || path == "/v1/models" || path == "/v1/chat/completions" ||
                     path == "/generate" || path == "/v1/audio/transcriptions";
  if (!known) throw ApiError(404, "invalid_request_error", "no route " + path, "not_found");
  const bool post = path != "/metrics" && path != "/v1/models";
  if (request.method != (post ? "POST" : "GET")) {
    throw ApiError(405, "invalid_request_error",
                   fmt::format("{} takes {}", path, post ? "POST" : "GET"), "method_not_allowed");
  }
  const auto who = guard(request, post);
  out.log["client"] = who.client;
  if (path == "/metrics") {
    if (const auto scheduler = scheduler_.load()) {
      metrics_.set_running(scheduler->running());
      metrics_.set_waiting(scheduler->waiting());
      if (const auto gpu = scheduler->device_memory()) {
        metrics_.set_gpu(gpu->second, server::gpu_utilization(gpu->first).value_or(0));
      }
    }
    metrics_.request(path, 200);
    co_await out.send(200, "text/plain; version=0.0.4; charset=utf-8", metrics_.render());
    co_return;
  }
  if (path == "/v1/models") {
    metrics_.request(path, 200);
    co_await out.send(200, kJson, server::models_list(name_, created_));
    co_return;
  }
  if (!ready_ || draining) {
    throw ApiError(503, "server_error",
                   draining ? "the server is shutting down" : "the model is still loading",
                   draining ? "shutting_down" : "model_loading");
  }
  if (path == "/v1/chat/completions") {
    co_await chat(request, out, who);
  } else if (path == "/generate") {
    co_await generate(request, out, who);
  } else {
    co_await transcribe(request, out, who);
  }
}

server::Job Server::job_for(Conversation conversation, GenerationConfig generation,
                            std::vector<std::string> stop) const {
  server::Job job;
  job.conversation = std::move(conversation);
  job.generation = std::move(generation);
  job.stop = std::move(stop);
  job.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options_.request_timeout));
  return job;
}

std::shared_ptr<EventChannel> Server::submit(server::Job& job,
                                             const net::any_io_executor& executor) {
  auto channel = std::make_shared<EventChannel>(executor);
  job.on_event = [channel](JobEvent e) { channel->push(std::move(e)); };
  const auto scheduler = scheduler_.load();
  if (!scheduler) {
    throw ApiError(503, "server_error", "the server is shutting down", "shutting_down");
  }
  if (!scheduler->submit(job)) {
    throw ApiError(429, "rate_limit_error",
                   fmt::format("the server's queue is full ({} requests waiting); retry shortly",
                               options_.max_waiting),
                   "queue_full", "1");
  }
  return channel;
}

ApiError Server::job_error(const JobEvent& e) {
  return ApiError(e.status, e.error_type, e.message, e.error_code);
}

// Usage, cost, metrics, the rate limiter's token count and the access log of a finished job.
server::Usage Server::account(const std::string& client, const JobEvent& done, HttpResponder& out,
                              Clock::time_point start) {
  const double input_cost = done.prompt_tokens / 1000.0 * options_.price_input_per_1k;
  const double output_cost = done.completion_tokens / 1000.0 * options_.price_output_per_1k;
  server::Usage usage{done.prompt_tokens, done.completion_tokens, input_cost + output_cost};
  metrics_.tokens(done.prompt_tokens, done.completion_tokens);
  metrics_.cost(input_cost, output_cost);
  if (done.completion_tokens > 0) metrics_.time_to_first_token(done.time_to_first_token);
  metrics_.request_latency(std::chrono::duration<double>(Clock::now() - start).count());
  limiter_.record_tokens(client, done.prompt_tokens + done.completion_tokens);
  log_end(out, done);
  return usage;
}

net::awaitable<JobEvent> Server::collect(server::Job& job, HttpResponder& out, std::string& text) {
  auto channel = submit(job, co_await net::this_coro::executor);
  out.watch_disconnect([cancelled = job.cancelled] { *cancelled = true; });
  auto last = Clock::now();
  for (;;) {
    auto event = co_await channel->next();
    if (event.kind == JobEvent::Kind::kError) log_end(out, event);
    if (event.kind != JobEvent::Kind::kText) co_return event;
    const auto now = Clock::now();
    if (!text.empty()) {
      metrics_.inter_token_latency(std::chrono::duration<double>(now - last).count());
    }
    last = now;
    text += event.text;
  }
}

net::awaitable<void> Server::chat(const HttpRequest& request, HttpResponder& out,
                                  const Guarded& who) {
  const auto start = Clock::now();
  auto parsed = server::parse_chat_request(request.body, {options_.allow_remote_media});
  auto job =
      job_for(std::move(parsed.conversation), std::move(parsed.generation), std::move(parsed.stop));
  const auto id = next_id();
  const auto created = unix_time();
  if (!parsed.stream) {
    std::string text;
    const auto end = co_await collect(job, out, text);
    if (end.kind == JobEvent::Kind::kError) throw job_error(end);
    const auto usage = account(who.client, end, out, start);
    metrics_.request(kChatRoute, 200);
    co_await out.send(200, kJson,
                      server::chat_completion(id, created, name_, text, end.finish_reason, usage));
    co_return;
  }
  auto channel = submit(job, co_await net::this_coro::executor);
  // The first event decides the status: a prompt that cannot be built is a 400, not a stream.
  auto event = co_await channel->next();
  if (event.kind == JobEvent::Kind::kError) throw job_error(event);
  metrics_.request(kChatRoute, 200);
  auto send = [&](const std::string& json) -> net::awaitable<bool> {
    co_return co_await out.write("data: " + json + "\n\n");
  };
  bool open = co_await out.start_stream(200, "text/event-stream") &&
              co_await send(server::chat_chunk(id, created, name_, "assistant", "", std::nullopt));
  auto last = Clock::now();
  for (;; event = co_await channel->next()) {
    if (!open) {
      // The client left: the row leaves the batch at its next token, whose event ends the wait.
      *job.cancelled = true;
      while (event.kind == JobEvent::Kind::kText) event = co_await channel->next();
      log_end(out, event);
      co_return;
    }
    if (event.kind == JobEvent::Kind::kText) {
      const auto now = Clock::now();
      metrics_.inter_token_latency(std::chrono::duration<double>(now - last).count());
      last = now;
      open = co_await send(
          server::chat_chunk(id, created, name_, std::nullopt, event.text, std::nullopt));
      continue;
    }
    if (event.kind == JobEvent::Kind::kError) {
      log_end(out, event);
      co_await send(server::error_body(job_error(event)));
    } else {
      const auto usage = account(who.client, event, out, start);
      open = co_await send(
          server::chat_chunk(id, created, name_, std::nullopt, std::nullopt, event.finish_reason));
      if (open && parsed.include_usage) {
        open = co_await send(server::usage_chunk(id, created, name_, usage));
      }
      if (open) co_await out.write("data: [DONE]\n\n");
    }
    break;
  }
  co_await out.finish();
}

net::awaitable<void> Server::generate(const HttpRequest& request, HttpResponder& out,
                                      const Guarded& who) {
  const auto start = Clock::now();
  auto parsed = server::parse_generate_request(request.body, {options_.allow_remote_media});
  auto job = job_for(std::move(parsed.conversation), std::move(parsed.generation), {});
  std::string text;
  const auto end = co_await collect(job, out, text);
  if (end.kind == JobEvent::Kind::kError) throw job_error(end);
  account(who.client, end, out, start);
  metrics_.request(kGenerateRoute, 200);
  co_await out.send(200, kJson, one_field("response", text));
}

net::awaitable<void> Server::transcribe(const HttpRequest& request, HttpResponder& out,
                                        const Guarded& who) {
  const auto start = Clock::now();
  const auto parts = server::parse_multipart(request.header("Content-Type"), request.body);
  const server::FormPart* file = nullptr;
  std::string prompt = "Transcribe this audio.", format = "json";
  for (const auto& part : parts) {
    if (part.name == "file") file = &part;
    if (part.name == "prompt" && !part.data.empty()) prompt = std::string(part.data);
    if (part.name == "response_format") format = std::string(part.data);
  }
  if (!file) {
    throw ApiError(400, "invalid_request_error", "the form has no 'file' part", "invalid_value",
                   "file");
  }
  if (format != "json" && format != "text") {
    throw ApiError(400, "invalid_request_error",
                   fmt::format("response_format '{}' is not supported; use json or text", format),
                   "invalid_value", "response_format");
  }
  const auto name = file->filename.empty() ? std::string("file") : file->filename;
  auto audio =
      decode_audio(file->data, name, processor_->feature_extractor().config().sampling_rate);
  Conversation conversation{chat::user({chat::audio(std::move(audio)), chat::text(prompt)})};
  auto job = job_for(std::move(conversation), {.do_sample = false}, {});
  std::string text;
  const auto end = co_await collect(job, out, text);
  if (end.kind == JobEvent::Kind::kError) throw job_error(end);
  account(who.client, end, out, start);
  metrics_.request(kTranscribeRoute, 200);
  if (format == "text") {
    co_await out.send(200, "text/plain; charset=utf-8", text);
  } else {
    co_await out.send(200, kJson, one_field("text", text));
  }
}

// Stops the io_context once the drain is over: requests in flight finish within the grace period,
// then the scheduler answers what remains with 503 and the connections get a moment to send it.
net::awaitable<void> drain(Server& server, server::HttpServer& http, net::io_context& io,
                           double grace) {
  server.draining = true;
  http.stop_accepting();
  net::steady_timer timer(co_await net::this_coro::executor);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(grace));
  while (!server.idle() && Clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(50));
    co_await timer.async_wait(net::use_awaitable);
  }
  server.stop_scheduler();
  const auto flush = Clock::now() + std::chrono::seconds(2);
  while (http.connections() > 0 && Clock::now() < flush) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(net::use_awaitable);
  }
  io.stop();
}

}  // namespace

int serve(const ServeOptions& options) {
  Server server(options);
  net::io_context io(options.http_threads);
  server::HttpLimits limits;
  limits.max_body_bytes = options.max_body_bytes;
  std::mutex log_mutex;
  server::AccessLog log;
  if (options.access_log) {
    log = [&log_mutex](const nlohmann::json& line) {
      const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      std::lock_guard lock(log_mutex);
      std::cerr << text << "\n";
    };
  }
  server::HttpServer http(
      io, limits,
      [&server](const HttpRequest& request, HttpResponder& out) {
        return server.handle(request, out);
      },
      log);
  http.listen(options.host, options.port);
  http.start();
  if (options.on_listening) options.on_listening(http.port());

  std::thread loader([&] {
    server.load();
    if (server.load_error()) net::post(io, [&io] { io.stop(); });
  });
  net::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) net::co_spawn(io, drain(server, http, io, options.shutdown_grace), net::detached);
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < options.http_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  loader.join();
  server.stop_scheduler();
  if (server.load_error()) std::rethrow_exception(server.load_error());
  return 0;
}

}  // namespace gemma
