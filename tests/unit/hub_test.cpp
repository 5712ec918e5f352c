#include "gemma/hub.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <thread>

#include "gemma/error.h"
#include "hub/progress.h"
#include "support/paths.h"
#include "util/files.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using gemma::HubOptions;
using gemma::InvalidArgumentError;
using gemma::IoError;
using gemma::resolve_model;
using gemma::util::read_file;

constexpr const char* kGatedToken = "hf_gated_token";

// Sets (or, with nullopt, unsets) an environment variable until the end of the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No hub settings from the developer's or CI's environment leak into a test; HF_HOME points at an
// empty scratch folder so no stored token is found.
struct CleanHubEnv {
  ScopedEnv token{"HF_TOKEN", std::nullopt};
  ScopedEnv token_path{"HF_TOKEN_PATH", std::nullopt};
  ScopedEnv offline{"HF_HUB_OFFLINE", std::nullopt};
  ScopedEnv transformers_offline{"TRANSFORMERS_OFFLINE", std::nullopt};
  ScopedEnv home{"HF_HOME", gemma::test::scratch_dir("hub_home").string()};
};

// tests/support/hub_server.py, running for the lifetime of the object.
class HubServer {
 public:
  HubServer() : state_(gemma::test::scratch_dir("hub_server")) {
    const std::string script =
        (gemma::test::data_dir().parent_path() / "support" / "hub_server.py").string();
    const std::string state = state_.string();
    char* argv[] = {const_cast<char*>("python3"), const_cast<char*>(script.c_str()),
                    const_cast<char*>(state.c_str()), nullptr};
    if (::posix_spawnp(&pid_, "python3", nullptr, nullptr, argv, environ) != 0)
      throw std::runtime_error("cannot start python3 " + script);
    for (int i = 0; i < 1000 && !fs::exists(state_ / "port"); ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_)
        throw std::runtime_error(script + " exited early");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    endpoint_ = "http://127.0.0.1:" + read_file(state_ / "port");
    manifest_ = nlohmann::json::parse(read_file(state_ / "manifest.json"));
  }
  ~HubServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  HubServer(const HubServer&) = delete;
  HubServer& operator=(const HubServer&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  std::string commit(const std::string& repo) const { return manifest_[repo]["sha"]; }
  std::string etag(const std::string& repo, const std::string& file) const {
    return manifest_[repo]["files"][file]["etag"];
  }
  std::string content(const std::string& repo, const std::string& file) const {
    return read_file(state_ / "expected" / repo / file);
  }
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> log;
    std::ifstream in(state_ / "requests.log");
    for (std::string line; std::getline(in, line);) log.push_back(nlohmann::json::parse(line));
    return log;
  }

 private:
  fs::path state_;
  pid_t pid_ = 0;
  std::string endpoint_;
  nlohmann::json manifest_;
};

HubServer& server() {
  static HubServer instance;
  return instance;
}

HubOptions options_for(const fs::path& cache) {
  HubOptions options;
  options.endpoint = server().endpoint();
  options.cache_dir = cache;
  options.progress = false;
  return options;
}

// What the default allow patterns select from the fake repos (README.md and *.msgpack are left
// out).
const std::vector<std::string> kSelected = {"config.json",
                                            "generation_config.json",
                                            "model.safetensors.index.json",
                                            "model-00001-of-00002.safetensors",
                                            "model-00002-of-00002.safetensors",
                                            "tokenizer.model",
                                            "chat_template.jinja",
                                            "sub/extra.json"};

fs::path repo_dir(const fs::path& cache, const std::string& repo) {
  return cache /
         ("models--" + repo.substr(0, repo.find('/')) + "--" + repo.substr(repo.find('/') + 1));
}

void check_snapshot(const fs::path& cache, const std::string& repo,
                    const std::vector<std::string>& files) {
  const fs::path snapshot = repo_dir(cache, repo) / "snapshots" / server().commit(repo);
  for (const auto& file : files) {
    INFO(file);
    const fs::path link = snapshot / file;
    REQUIRE(fs::is_symlink(link));
    const std::string up = file.find('/') == std::string::npos ? "../../" : "../../../";
    CHECK(fs::read_symlink(link) == fs::path(up + "blobs/" + server().etag(repo, file)));
    CHECK(read_file(link) == server().content(repo, file));
  }
}

std::size_t count_files(const fs::path& dir) {
  return std::distance(fs::directory_iterator(dir), fs::directory_iterator());
}

}  // namespace

TEST_CASE("resolve_model downloads into huggingface_hub's cache layout", "[hub]") {
  const CleanHubEnv env;
  const fs::path cache = gemma::test::scratch_dir("hub_fresh");
  const std::string commit = server().commit("tester/tiny");
  const fs::path path = resolve_model("tester/tiny", options_for(cache));
  const fs::path repo = repo_dir(cache, "tester/tiny");
  CHECK(path == repo / "snapshots" / commit);
  CHECK(read_file(repo / "refs" / "main") == commit);
  check_snapshot(cache, "tester/tiny", kSelected);
  // Blobs are named by the hub's ETag: the LFS files' sha256 (X-Linked-Etag), the others' git sha1.
  CHECK(server().etag("tester/tiny", "tokenizer.model").size() == 64);
  CHECK(server().etag("tester/tiny", "config.json").size() == 40);
  CHECK(count_files(repo / "blobs") == kSelected.size());  // no README.md, no .incomplete left
  CHECK(count_files(path) == kSelected.size());            // sub/ in place of sub/extra.json
  CHECK_FALSE(fs::exists(path / "README.md"));
  CHECK_FALSE(fs::exists(path / "flax_model.msgpack"));
  CHECK(fs::exists(cache / ".locks" / "models--tester--tiny"));
}

TEST_CASE("a complete cached snapshot resolves without the network", "[hub]") {
  const CleanHubEnv env;
  const fs::path cache = gemma::test::scratch_dir("hub_cached");
  const fs::path path = resolve_model("tester/tiny", options_for(cache));

  HubOptions dead = options_for(cache);
  dead.endpoint = "http://127.0.0.1:9";  // nothing listens there
  CHECK(resolve_model("tester/tiny", dead) == path);
  dead.revision = server().commit("tester/tiny");
  CHECK(resolve_model("tester/tiny", dead) == path);
  dead.revision = "main";
  dead.offline = true;
  CHECK(resolve_model("tester/tiny", dead) == path);
  {
    const ScopedEnv offline("HF_HUB_OFFLINE", "1");
    CHECK(resolve_model("tester/tiny", options_for(cache)) == path);
  }

  // A shard's blob gone: incomplete, so offline fails and online fetches that blob alone.
  const std::string shard = "model-00002-of-00002.safetensors";
  fs::remove(repo_dir(cache, "tester/tiny") / "blobs" / server().etag("tester/tiny", shard));
  CHECK_THROWS_WITH(resolve_model("tester/tiny", dead),
                    Catch::Contains("tester/tiny") && Catch::Contains("offline mode is on"));
  const std::size_t before = server().requests().size();
  CHECK(resolve_model("tester/tiny", options_for(cache)) == path);
  std::size_t blob_downloads = 0;
  for (std::size_t i = before; i < server().requests().size(); ++i)
    blob_downloads += server().requests()[i]["path"].get<std::string>().starts_with("/cdn/");
  CHECK(blob_downloads == 1);
  check_snapshot(cache, "tester/tiny", kSelected);
}

TEST_CASE("an interrupted transfer resumes with a Range request", "[hub]") {
  const CleanHubEnv env;
  const std::string shard = "model-00002-of-00002.safetensors";
  SECTION("cut off mid-way, resumed within the call") {
    const fs::path cache = gemma::test::scratch_dir("hub_flaky");
    resolve_model("tester/flaky", options_for(cache));
    check_snapshot(cache, "tester/flaky", kSelected);
    const std::string half = std::to_string(server().content("tester/flaky", shard).size() / 2);
    bool resumed = false;
    for (const auto& request : server().requests())
      resumed |= request["range"] == "bytes=" + half + "-";
    CHECK(resumed);
  }
  SECTION("a partial blob left by an earlier call") {
    const fs::path cache = gemma::test::scratch_dir("hub_partial");
    const fs::path blobs = repo_dir(cache, "tester/tiny") / "blobs";
    fs::create_directories(blobs);
    std::ofstream(blobs / (server().etag("tester/tiny", shard) + ".incomplete"), std::ios::binary)
        << server().content("tester/tiny", shard).substr(0, 1000);
    resolve_model("tester/tiny", options_for(cache));
    check_snapshot(cache, "tester/tiny", kSelected);
    bool resumed = false;
    for (const auto& request : server().requests()) resumed |= request["range"] == "bytes=1000-";
    CHECK(resumed);
  }
}

TEST_CASE("a size mismatch names the file and keeps the partial download", "[hub]") {
  const CleanHubEnv env;
  const fs::path cache = gemma::test::scratch_dir("hub_broken");
  const std::string shard = "model-00002-of-00002.safetensors";
  CHECK_THROWS_WITH(resolve_model("tester/broken", options_for(cache)),
                    Catch::Contains(shard) && Catch::Contains("tester/broken") &&
                        Catch::Contains("received 5000 bytes but the hub announced 5100"));
  const fs::path repo = repo_dir(cache, "tester/broken");
  CHECK(fs::file_size(repo / "blobs" / (server().etag("tester/broken", shard) + ".incomplete")) ==
        5000);
  CHECK_FALSE(fs::exists(repo / "refs" / "main"));
  CHECK_FALSE(fs::exists(repo / "snapshots" / server().commit("tester/broken") / "config.json"));
}

TEST_CASE("a gated repo needs a token, which never leaves the hub's host", "[hub]") {
  const CleanHubEnv env;
  CHECK_THROWS_WITH(
      resolve_model("tester/gated", options_for(gemma::test::scratch_dir("hub_gated0"))),
      Catch::Contains("tester/gated") && Catch::Contains("HTTP 401") &&
          Catch::Contains("HF_TOKEN") && Catch::Contains("Please log in"));
  HubOptions wrong = options_for(gemma::test::scratch_dir("hub_gated1"));
  wrong.token = "hf_other";
  CHECK_THROWS_WITH(resolve_model("tester/gated", wrong),
                    Catch::Contains("tester/gated") && Catch::Contains("HTTP 403"));

  HubOptions with_token = options_for(gemma::test::scratch_dir("hub_gated2"));
  with_token.token = kGatedToken;
  resolve_model("tester/gated", with_token);
  check_snapshot(*with_token.cache_dir, "tester/gated", {"config.json", "model.safetensors"});
  {
    const ScopedEnv token("HF_TOKEN", kGatedToken);
    const fs::path cache = gemma::test::scratch_dir("hub_gated3");
    resolve_model("tester/gated", options_for(cache));
    check_snapshot(cache, "tester/gated", {"config.json", "model.safetensors"});
  }
  {
    const fs::path token_file = gemma::test::scratch_dir("hub_token") / "token";
    std::ofstream(token_file) << kGatedToken << "\n";
    const ScopedEnv token_path("HF_TOKEN_PATH", token_file.string());
    const fs::path cache = gemma::test::scratch_dir("hub_gated4");
    resolve_model("tester/gated", options_for(cache));
    check_snapshot(cache, "tester/gated", {"config.json", "model.safetensors"});
  }
  const std::string blob = "/cdn/" + server().etag("tester/gated", "model.safetensors");
  std::size_t cdn = 0, resolved_with_token = 0;
  for (const auto& request : server().requests()) {
    const std::string path = request["path"];
    if (path.starts_with(blob)) {
      ++cdn;
      CHECK(request["authorization"].is_null());
    }
    resolved_with_token += path.starts_with("/tester/gated/resolve/") &&
                           request["authorization"] == std::string("Bearer ") + kGatedToken;
  }
  CHECK(cdn == 3);
  // Per successful download: a HEAD for each file, and the GET of config.json (served by the hub).
  CHECK(resolved_with_token == 9);
}

TEST_CASE("unknown repos, revisions and unreachable hubs are IoErrors naming them", "[hub]") {
  const CleanHubEnv env;
  const fs::path cache = gemma::test::scratch_dir("hub_missing");
  CHECK_THROWS_AS(resolve_model("tester/missing", options_for(cache)), IoError);
  CHECK_THROWS_WITH(resolve_model("tester/missing", options_for(cache)),
                    Catch::Contains("hub repo 'tester/missing'") &&
                        Catch::Contains("repository not found (HTTP 404)"));
  HubOptions v9 = options_for(cache);
  v9.revision = "v9";
  CHECK_THROWS_WITH(resolve_model("tester/tiny", v9),
                    Catch::Contains("revision 'v9'") && Catch::Contains("revision not found"));
  HubOptions dead = options_for(cache);
  dead.endpoint = "http://127.0.0.1:9";
  CHECK_THROWS_WITH(
      resolve_model("tester/tiny", dead),
      Catch::Contains("cannot reach http://127.0.0.1:9") && Catch::Contains("HF_HUB_OFFLINE"));
}

TEST_CASE("offline mode with nothing cached is an IoError, without requests", "[hub]") {
  const CleanHubEnv env;
  const ScopedEnv offline("HF_HUB_OFFLINE", "1");
  const std::size_t before = server().requests().size();
  CHECK_THROWS_AS(resolve_model("tester/tiny", options_for(gemma::test::scratch_dir("hub_off"))),
                  IoError);
  CHECK_THROWS_WITH(
      resolve_model("tester/tiny", options_for(gemma::test::scratch_dir("hub_off"))),
      Catch::Contains("'tester/tiny' at revision 'main'") && Catch::Contains("offline mode is on"));
  CHECK(server().requests().size() == before);
}

TEST_CASE("allow_patterns select files like huggingface_hub's", "[hub]") {
  const CleanHubEnv env;
  HubOptions options = options_for(gemma::test::scratch_dir("hub_patterns"));
  options.allow_patterns = {"config.json", "sub/", "*.md"};
  const fs::path path = resolve_model("tester/tiny", options);
  check_snapshot(*options.cache_dir, "tester/tiny", {"config.json", "sub/extra.json", "README.md"});
  CHECK(count_files(path) == 3);
  options.allow_patterns = {"*.bin"};
  CHECK_THROWS_WITH(resolve_model("tester/tiny", options), Catch::Contains("no files matching"));
}

TEST_CASE("local directories pass through and invalid ids are InvalidArgumentErrors", "[hub]") {
  const CleanHubEnv env;
  const fs::path tiny = gemma::test::tiny_model_dir();
  CHECK(resolve_model(tiny.string()) == tiny);
  CHECK_THROWS_AS(resolve_model((tiny / "config.json").string()), InvalidArgumentError);
  for (const std::string id :
       {"", "name-only", "org/na..me", "-org/name", "org/name-", "org/name.git", "a/b/c",
        "org--x/name", "org/na me", "/no/such/dir"}) {
    INFO(id);
    CHECK_THROWS_AS(resolve_model(id), InvalidArgumentError);
    if (!id.empty()) CHECK_THROWS_WITH(resolve_model(id), Catch::Contains("'" + id + "'"));
  }
  CHECK_THROWS_WITH(resolve_model(std::string(97, 'a') + "/b"), Catch::Contains("hub repo id"));
  HubOptions options;
  options.revision = "../../etc";
  CHECK_THROWS_AS(resolve_model("org/name", options), InvalidArgumentError);
}

TEST_CASE("the progress line redraws in place and ends with the total", "[hub]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  gemma::hub::ProgressLine progress(out, "model-00001-of-00002.safetensors", 3 << 20);
  progress.update(1 << 20);
  progress.finish(3 << 20);
  std::rewind(out);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  CHECK(text.starts_with("\rmodel-00001-of-00002.safetensors"));
  CHECK(text.find("33%  1.0 MiB / 3.0 MiB") != std::string::npos);
  CHECK(text.ends_with("[##############################] 100%  3.0 MiB / 3.0 MiB\n"));
  gemma::hub::ProgressLine silent(nullptr, "x", 1);
  silent.finish(1);
}
