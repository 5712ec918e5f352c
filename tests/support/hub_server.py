#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub's download endpoints, for tests/unit/hub_test.cpp.

Python standard library only. Usage: hub_server.py STATE_DIR. It listens on 127.0.0.1 (port chosen
by the OS) and serves fake repos held in memory:

  GET      /api/models/<org>/<name>/revision/<rev>  {"id", "sha", "siblings": [{"rfilename"}]}
  HEAD/GET /<org>/<name>/resolve/<rev>/<file>       small files directly (ETag: git blob sha1);
           LFS files (*.safetensors, tokenizer.model, *.msgpack) as a 302 to a signed "CDN" URL on
           http://localhost:<port> (another host than 127.0.0.1, so credentials must not follow),
           with X-Linked-Etag (sha256) and X-Linked-Size, as the hub does
  GET      /cdn/<sha256>?signature=...              the bytes, honouring Range

  tester/tiny    a sharded checkpoint, tokenizer, template, a nested and two unselected files
  tester/flaky   as tiny, but the second shard's first full transfer is cut off half way
  tester/broken  as tiny, but the second shard's X-Linked-Size is 100 bytes too large
  tester/gated   /resolve/ needs "Authorization: Bearer hf_gated_token" (401 without a token,
                 403 with another one); the API answers anyone
  others         404 RepoNotFound; unknown revisions RevisionNotFound, unknown files EntryNotFound

STATE_DIR receives expected/<org>/<name>/<file> (each file's bytes), manifest.json
({repo: {"sha": commit, "files": {file: {"etag", "size"}}}}), requests.log (one JSON object per
request: method, path, range, authorization) and, last, port.
"""
import hashlib
import http.server
import json
import os
import random
import sys
import threading
import urllib.parse

GATED_TOKEN = "hf_gated_token"
LFS_SUFFIXES = (".safetensors", ".msgpack", "tokenizer.model")
SHARDS = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")


def make_repo(name):
    rng = random.Random(name)
    index = {"metadata": {"total_size": 11000},
             "weight_map": {"a.weight": SHARDS[0], "b.weight": SHARDS[1]}}
    files = {
        "config.json": json.dumps({"model_type": "gemma3n", "repo": name}).encode(),
        "generation_config.json": b'{"do_sample": true}',
        "model.safetensors.index.json": json.dumps(index).encode(),
        SHARDS[0]: rng.randbytes(6000),
        SHARDS[1]: rng.randbytes(5000),
        "tokenizer.model": rng.randbytes(3000),
        "chat_template.jinja": b"{{ messages[0]['content'] }}",
        "sub/extra.json": b"{}",
        "README.md": b"# not downloaded by default",
        "flax_model.msgpack": rng.randbytes(100),
    }
    if name == "tester/gated":
        files = {"config.json": files["config.json"], "model.safetensors": rng.randbytes(4000)}
    return {"sha": hashlib.sha1(name.encode()).hexdigest(), "files": files}


REPOS = {name: make_repo(name) for name in ("tester/tiny", "tester/flaky", "tester/broken", "tester/gated")}


def is_lfs(file):
    return file.endswith(LFS_SUFFIXES)


def etag(content, lfs):
    if lfs:
        return hashlib.sha256(content).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


BLOBS = {etag(c, True): c for repo in REPOS.values() for f, c in repo["files"].items() if is_lfs(f)}


class Handler(http.server.BaseHTTPRequestHandler):
    cut_done = set()
    log_lock = threading.Lock()
    state_dir = "."

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def record(self):
        entry = {"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                 "authorization": self.headers.get("Authorization")}
        with self.log_lock, open(os.path.join(self.state_dir, "requests.log"), "a") as log:
            log.write(json.dumps(entry) + "\n")

    def reply(self, status, headers=(), body=b""):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, [("X-Error-Code", code), ("X-Error-Message", message)],
                   json.dumps({"error": message}).encode())

    def route(self):
        self.record()
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/")
        if parts[1] == "cdn":
            return self.cdn(parts[2], urllib.parse.parse_qs(url.query))
        if parts[1] == "api" and len(parts) == 7 and parts[2] == "models" and parts[5] == "revision":
            return self.api(parts[3] + "/" + parts[4], urllib.parse.unquote(parts[6]))
        if len(parts) >= 6 and parts[3] == "resolve":
            return self.resolve(parts[1] + "/" + parts[2], parts[4],
                                urllib.parse.unquote("/".join(parts[5:])))
        self.error(404, "EntryNotFound", "no such endpoint")

    def find_repo(self, repo_id, revision):
        repo = REPOS.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", f"Repository {repo_id} not found")
        elif revision not in ("main", repo["sha"]):
            self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            repo = None
        return repo

    def api(self, repo_id, revision):
        repo = self.find_repo(repo_id, revision)
        if repo:
            siblings = [{"rfilename": f} for f in repo["files"]]
            body = json.dumps({"id": repo_id, "sha": repo["sha"], "siblings": siblings}).encode()
            self.reply(200, [("Content-Type", "application/json")], body)

    def authorized(self, repo_id):
        if repo_id != "tester/gated":
            return True
        sent = self.headers.get("Authorization")
        if sent == f"Bearer {GATED_TOKEN}":
            return True
        if sent is None:
            self.error(401, "GatedRepo", f"Access to model {repo_id} is restricted. Please log in.")
        else:
            self.error(403, "GatedRepo", f"Access to model {repo_id} is restricted and you are not in the authorized list.")
        return False

    def resolve(self, repo_id, revision, file):
        repo = self.find_repo(repo_id, revision)
        if not repo or not self.authorized(repo_id):
            return
        content = repo["files"].get(file)
        if content is None:
            return self.error(404, "EntryNotFound", f"{file} does not exist on {revision}")
        common = [("X-Repo-Commit", repo["sha"]), ("Accept-Ranges", "bytes")]
        if not is_lfs(file):
            return self.reply(200, common + [("ETag", f'"{etag(content, False)}"')], content)
        sha = etag(content, True)
        size = len(content) + (100 if repo_id == "tester/broken" and file == SHARDS[1] else 0)
        query = "signature=abc" + ("&cut=1" if repo_id == "tester/flaky" and file == SHARDS[1] else "")
        location = f"http://localhost:{self.server.server_port}/cdn/{sha}?{query}"
        self.reply(302, common + [("Location", location), ("ETag", '"redirect-etag"'),
                                  ("X-Linked-Etag", f'"{sha}"'), ("X-Linked-Size", str(size))],
                   b"Found. Redirecting")

    def cdn(self, sha, query):
        content = BLOBS.get(sha)
        if content is None or query.get("signature") != ["abc"]:
            return self.error(403, "", "bad signature")
        requested = self.headers.get("Range")
        if requested is None:
            if query.get("cut") == ["1"] and sha not in self.cut_done:
                self.cut_done.add(sha)
                self.send_response(200)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content[: len(content) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.reply(200, [("ETag", f'"cdn-{sha}"')], content)
        start = int(requested.removeprefix("bytes=").split("-")[0])
        if start >= len(content):
            return self.reply(416, [("Content-Range", f"bytes */{len(content)}")])
        self.reply(206, [("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")],
                   content[start:])


def write_state(state_dir):
    manifest = {}
    for repo_id, repo in REPOS.items():
        files = {}
        for file, content in repo["files"].items():
            path = os.path.join(state_dir, "expected", repo_id, file)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as out:
                out.write(content)
            files[file] = {"etag": etag(content, is_lfs(file)), "size": len(content)}
        manifest[repo_id] = {"sha": repo["sha"], "files": files}
    with open(os.path.join(state_dir, "manifest.json"), "w") as out:
        json.dump(manifest, out)


def main():
    state_dir = sys.argv[1]
    write_state(state_dir)
    Handler.state_dir = state_dir
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_file = os.path.join(state_dir, "port")
    with open(port_file + ".tmp", "w") as out:
        out.write(str(server.server_port))
    os.rename(port_file + ".tmp", port_file)  # readers never see a partial port
    server.serve_forever()


if __name__ == "__main__":
    main()
