#include "hub/download.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "gemma/error.h"
#include "hub/cache.h"
#include "hub/http.h"
#include "hub/progress.h"
#include "util/curl.h"

namespace gemma::hub {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxApiResponse = std::size_t{64} << 20;
constexpr int kMaxRedirects = 10;
// Transfers cut off mid-way are resumed this many times within one call.
constexpr int kAttempts = 5;

// Accept-Encoding: identity, so that Content-Length and X-Linked-Size count the bytes we store.
std::vector<std::string> request_headers(const HubSettings& settings, bool with_token) {
  std::vector<std::string> headers{"Accept-Encoding: identity"};
  if (with_token && settings.token) headers.push_back("Authorization: Bearer " + *settings.token);
  return headers;
}

std::string unreachable(const std::string& what, const std::string& url, const std::string& error) {
  return fmt::format("{}: cannot reach {}: {} (HF_HUB_OFFLINE=1 uses the cache only)", what,
                     util::without_query(url), error);
}

struct FileMetadata {
  std::string etag;
  std::optional<std::uint64_t> size;
  std::string location;  ///< where the bytes are: the resolve URL or the CDN it redirects to
  bool send_token = false;
};

// huggingface_hub's _normalize_etag: a weak-validator prefix and the quotes go.
std::string normalize_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::optional<std::uint64_t> parse_size(const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// HEAD on /resolve/, following redirects only while they stay on the hub's origin: an LFS file
// redirects to a CDN, and that redirect carries the hub's X-Linked-Etag and X-Linked-Size.
FileMetadata head_file(const HubSettings& settings, const std::string& resolve_url,
                       const std::string& what) {
  std::string url = resolve_url;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    const HttpResponse response =
        http_request({url, true, false, request_headers(settings, true), {}});
    if (!response.transport_error.empty())
      throw IoError(unreachable(what, url, response.transport_error));
    if (response.status >= 400) throw_hub_status(response, what, settings.token.has_value());
    const bool redirect = response.status >= 300 && !response.redirect_url.empty();
    if (redirect && same_origin(url, response.redirect_url)) {
      url = response.redirect_url;
      continue;
    }
    FileMetadata meta;
    const std::string linked = response.header("x-linked-etag");
    meta.etag = normalize_etag(linked.empty() ? response.header("etag") : linked);
    if (!is_relative_name(meta.etag) || meta.etag.find('/') != std::string::npos)
      throw IoError(fmt::format(
          "{}: the hub sent no usable ETag ('{}'), which names the cached file", what, meta.etag));
    const std::string linked_size = response.header("x-linked-size");
    meta.size = parse_size(!linked_size.empty() ? linked_size
                           : redirect           ? std::string()
                                                : response.header("content-length"));
    meta.location = redirect ? response.redirect_url : url;
    meta.send_token = same_origin(resolve_url, meta.location);
    return meta;
  }
  throw IoError(
      fmt::format("{}: more than {} redirects from {}", what, kMaxRedirects, resolve_url));
}

// The `.incomplete` file a transfer appends to. A 206 continues it; a 200 (a server that ignores
// Range) starts it over.
class PartialFile {
 public:
  PartialFile(fs::path path, std::uint64_t offset, ProgressLine& progress)
      : path_(std::move(path)), offset_(offset), progress_(progress) {
    out_.open(path_, std::ios::binary | std::ios::app);
    if (!out_)
      throw IoError(fmt::format("cannot open {}: {}", path_.string(), std::strerror(errno)));
  }

  bool write(const HttpResponse& response, std::string_view chunk) {
    if (!started_ && !start(response)) return false;
    out_.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (!out_)
      return fail(fmt::format("cannot write {}: {}", path_.string(), std::strerror(errno)));
    offset_ += chunk.size();
    progress_.update(offset_);
    return true;
  }

  // Flushes and reports a failure of write().
  void close() {
    out_.close();
    if (!error_.empty()) throw IoError(error_);
    if (out_.fail()) throw IoError(fmt::format("cannot write {}", path_.string()));
  }

 private:
  bool start(const HttpResponse& response) {
    started_ = true;
    if (response.status == 206) {
      const std::string range = response.header("content-range");
      if (range.starts_with(fmt::format("bytes {}-", offset_))) return true;
      return fail(
          fmt::format("{}: the server answered a request for bytes {}- with Content-Range '{}'",
                      path_.string(), offset_, range));
    }
    out_.close();
    out_.open(path_, std::ios::binary | std::ios::trunc);
    offset_ = 0;
    if (!out_) return fail(fmt::format("cannot open {}: {}", path_.string(), std::strerror(errno)));
    return true;
  }

  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  fs::path path_;
  std::uint64_t offset_;
  ProgressLine& progress_;
  std::ofstream out_;
  bool started_ = false;
  std::string error_;
};

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) throw IoError(fmt::format("cannot remove {}: {}", path.string(), ec.message()));
}

std::uint64_t existing_size(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

// One GET of what `partial` still lacks. Returns the transport error to retry on, empty when the
// response completed.
std::string transfer(const HubSettings& settings, const FileMetadata& meta, const fs::path& partial,
                     ProgressLine& progress, const std::string& what) {
  std::uint64_t offset = existing_size(partial);
  if (meta.size && offset > *meta.size) {
    remove_file(partial);
    offset = 0;
  }
  if (meta.size && offset == *meta.size) return {};
  auto headers = request_headers(settings, meta.send_token);
  if (offset > 0) headers.push_back(fmt::format("Range: bytes={}-", offset));
  PartialFile file(partial, offset, progress);
  const HttpResponse response = http_request(
      {meta.location, false, true, headers,
       [&](const HttpResponse& r, std::string_view chunk) { return file.write(r, chunk); }});
  file.close();
  if (response.status == 416) {  // our partial file does not fit the blob: start over
    remove_file(partial);
    return "HTTP 416 (range not satisfiable)";
  }
  if (!response.transport_error.empty()) return response.transport_error;
  if (response.status >= 400) throw_hub_status(response, what, meta.send_token && settings.token);
  return {};
}

void fetch_blob(const HubSettings& settings, const FileMetadata& meta, const fs::path& blob,
                const std::string& file, const std::string& what) {
  const fs::path partial = blob.string() + ".incomplete";
  ProgressLine progress(settings.progress ? stderr : nullptr, file, meta.size.value_or(0));
  for (int attempt = 1;; ++attempt) {
    const std::uint64_t before = existing_size(partial);
    const std::string error = transfer(settings, meta, partial, progress, what);
    if (error.empty()) break;
    if (attempt == kAttempts)
      throw IoError(fmt::format(
          "{}: download from {} failed {} times, last: {}; the partial file {} "
          "is resumed by the next call",
          what, util::without_query(meta.location), kAttempts, error, partial.string()));
    // A transfer cut off after some progress resumes at once; one that got nothing waits a little.
    if (existing_size(partial) <= before)
      std::this_thread::sleep_for(std::chrono::seconds(attempt));
  }
  const std::uint64_t size = existing_size(partial);
  progress.finish(size);
  if (meta.size && size != *meta.size)
    throw IoError(
        fmt::format("{}: received {} bytes but the hub announced {}; the partial file {} is "
                    "resumed by the next call",
                    what, size, *meta.size, partial.string()));
  std::error_code ec;
  fs::rename(partial, blob, ec);
  if (ec)
    throw IoError(
        fmt::format("cannot rename {} to {}: {}", partial.string(), blob.string(), ec.message()));
}

std::vector<std::string> sibling_names(const nlohmann::json& info, const std::string& source) {
  const auto siblings = info.find("siblings");
  if (siblings == info.end() || !siblings->is_array())
    throw IoError(fmt::format("{}: the response has no 'siblings' list", source));
  std::vector<std::string> files;
  for (const auto& sibling : *siblings) {
    if (!sibling.is_object() || !sibling.contains("rfilename") || !sibling["rfilename"].is_string())
      throw IoError(fmt::format("{}: a 'siblings' entry has no 'rfilename' string", source));
    files.push_back(sibling["rfilename"].get<std::string>());
    if (!is_relative_name(files.back()))
      throw IoError(fmt::format("{}: file name '{}' leads outside the repo", source, files.back()));
  }
  return files;
}

}  // namespace

RepoRevision fetch_repo_revision(const HubSettings& settings, const std::string& repo_id) {
  const std::string url = fmt::format("{}/api/models/{}/revision/{}", settings.endpoint, repo_id,
                                      url_quote(settings.revision, false));
  const std::string what =
      fmt::format("hub repo '{}' at revision '{}'", repo_id, settings.revision);
  std::string body;
  bool too_large = false;
  const auto append = [&](const HttpResponse&, std::string_view chunk) {
    too_large = body.size() + chunk.size() > kMaxApiResponse;
    if (!too_large) body.append(chunk);
    return !too_large;
  };
  // Renamed repos redirect; libcurl keeps the token on the hub's own origin only.
  const HttpResponse response =
      http_request({url, false, true, request_headers(settings, true), append});
  if (too_large)
    throw IoError(fmt::format("{}: {} sent more than {} bytes", what, url, kMaxApiResponse));
  if (!response.transport_error.empty())
    throw IoError(unreachable(what, url, response.transport_error));
  if (response.status >= 400) throw_hub_status(response, what, settings.token.has_value());
  const auto info = nlohmann::json::parse(body, nullptr, false);
  if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() ||
      !is_commit_hash(info["sha"].get<std::string>()))
    throw IoError(
        fmt::format("{}: {} did not answer with a repo object holding a commit 'sha'", what, url));
  return {info["sha"].get<std::string>(), sibling_names(info, url)};
}

void download_file(const HubSettings& settings, const std::string& repo_id,
                   const std::string& commit, const std::string& file) {
  const std::string folder = repo_folder_name(repo_id);
  const fs::path repo_dir = settings.cache_dir / folder;
  const std::string what = fmt::format("'{}' of hub repo '{}' (commit {})", file, repo_id, commit);
  const std::string resolve_url =
      fmt::format("{}/{}/resolve/{}/{}", settings.endpoint, repo_id, commit, url_quote(file, true));
  const FileMetadata meta = head_file(settings, resolve_url, what);
  const fs::path blob = repo_dir / "blobs" / meta.etag;
  if (!fs::exists(blob)) {
    make_directories(blob.parent_path());
    const BlobLock lock(settings.cache_dir, folder, meta.etag);
    if (!fs::exists(blob))
      fetch_blob(settings, meta, blob, file, what);  // unless another process did
  }
  link_blob(repo_dir, commit, file, meta.etag);
}

}  // namespace gemma::hub
