#!/usr/bin/env python3
"""`gemma serve` on the bundled tiny model, driven by the official `openai` client (no retries)
and by raw HTTP where the client cannot go (signatures, /generate, /health, Retry-After).

Greedy replies must equal `gemma run --greedy` for the same conversation: alone, streamed, and
under concurrency (continuous batching must change no row). Every check prints one line; the
first failure raises. Loopback only; every request is bounded in count and time.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai

KEY = "sk-test-0123456789"
# A prompt the tiny model answers with POEM_TOKENS greedy tokens: a request that stays in flight.
POEM = [{"role": "user", "content": "Write a very long poem."}]
POEM_TOKENS = 680
MAX_TOKENS = 12


def check(name, condition, detail=""):
    if not condition:
        raise AssertionError(f"{name}: {detail}")
    print(f"ok   {name}")


SERVERS = []


class Server:
    """One `gemma serve --port 0` process; the port comes from its first stderr line. main()
    kills any still running when a check fails."""

    def __init__(self, cli, model, *flags, env=None):
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen([cli, "serve", "--model", model, "--port", "0", *flags],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        SERVERS.append(self.proc)
        line = self.proc.stderr.readline()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if not match:
            raise AssertionError(f"serve did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(match.group(1))
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.time() + 120
        while self.get("/health")[0] != 200:
            if time.time() > deadline or self.proc.poll() is not None:
                raise AssertionError("serve never became healthy")
            time.sleep(0.1)

    def _drain(self):
        for line in self.proc.stderr:
            self.log.write(line)

    def request(self, method, path, body=b"", headers=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        result = response.status, response.read(), dict(response.getheaders())
        conn.close()
        return result

    def get(self, path, headers=None):
        try:
            return self.request("GET", path, headers=headers, timeout=10)
        except OSError:
            return 0, b"", {}

    def client(self, key=KEY):
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=key,
                             max_retries=0, timeout=120)

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


def gemma_run(cli, model, prompt, images=(), audio=(), max_tokens=MAX_TOKENS):
    args = [cli, "run", "--model", model, "--prompt", prompt, "--greedy", "--json",
            "--max-new-tokens", str(max_tokens)]
    for image in images:
        args += ["--image", image]
    for clip in audio:
        args += ["--audio", clip]
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=300).stdout
    result = json.loads(out)
    return result["text"], len(result["token_ids"])


def data_uri(path, mime):
    with open(path, "rb") as f:
        return f"data:{mime};base64,{base64.b64encode(f.read()).decode()}"


def finish_for(tokens, max_tokens=MAX_TOKENS):
    return "length" if tokens == max_tokens else "stop"


def test_main_server(args, data):
    image = os.path.join(data, "images", "rgb_landscape_256x160.png")
    wav = os.path.join(data, "audio", "sine440_1s_16k_mono.wav")
    # A generous drain grace: the SIGTERM check below lets a 600-token stream finish, which under
    # ASan on 2 busy cores has taken longer than the default 30 s.
    server = Server(args.cli, args.model, "--api-key", KEY, "--shutdown-grace", "300",
                    "--max-body-bytes", "2000000",
                    "--default-max-tokens", "16", "--max-batch", "4")
    client = server.client()

    models = client.models.list()
    check("models.list names the served model", [m.id for m in models.data] == ["tiny-gemma3n"])

    prompts = ["Hello there", "Describe the sea.", "What is two plus two?",
               "Write a haiku about rust.", "List three colours.", "Why is the sky blue?"]
    want = {p: gemma_run(args.cli, args.model, p) for p in prompts[:2]}
    replies = {}
    for prompt in prompts:
        r = client.chat.completions.create(model="tiny-gemma3n", temperature=0,
                                           max_tokens=MAX_TOKENS,
                                           messages=[{"role": "user", "content": prompt}])
        replies[prompt] = r.choices[0].message.content
        if prompt in want:
            text, tokens = want[prompt]
            check(f"chat '{prompt}' equals gemma run --greedy", replies[prompt] == text,
                  f"{replies[prompt]!r} != {text!r}")
            check(f"chat '{prompt}' usage", r.usage.completion_tokens == tokens and
                  r.usage.total_tokens == r.usage.prompt_tokens + tokens and
                  r.usage.prompt_tokens > 0, str(r.usage))
            check(f"chat '{prompt}' finish_reason", r.choices[0].finish_reason ==
                  finish_for(tokens), r.choices[0].finish_reason)

    stream = client.chat.completions.create(model="tiny-gemma3n", temperature=0,
                                            max_tokens=MAX_TOKENS, stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": prompts[0]}])
    chunks = list(stream)
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    check("streamed pieces add up to the greedy reply", "".join(pieces) == want[prompts[0]][0])
    check("finish_reason is null until the last chunk",
          all(f is None for f in finishes[:-1]) and finishes[-1] == finish_for(want[prompts[0]][1]),
          str(finishes))
    check("the usage chunk comes last with no choices",
          chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == want[prompts[0]][1])

    with ThreadPoolExecutor(len(prompts)) as pool:
        concurrent = list(pool.map(lambda p: client.chat.completions.create(
            model="tiny-gemma3n", temperature=0, max_tokens=MAX_TOKENS,
            messages=[{"role": "user", "content": p}]).choices[0].message.content, prompts))
    check("6 concurrent requests get the replies each got alone",
          concurrent == [replies[p] for p in prompts])

    image_text, _ = gemma_run(args.cli, args.model, "What is in this image?", images=[image])
    r = client.chat.completions.create(model="tiny-gemma3n", temperature=0, max_tokens=MAX_TOKENS,
                                       messages=[{"role": "user", "content": [
                                           {"type": "image_url",
                                            "image_url": {"url": data_uri(image, "image/png")}},
                                           {"type": "text", "text": "What is in this image?"}]}])
    check("image data URI equals gemma run --image", r.choices[0].message.content == image_text)

    audio_text, _ = gemma_run(args.cli, args.model, "What do you hear?", audio=[wav])
    with open(wav, "rb") as f:
        b64 = base64.b64encode(f.read()).decode()
    r = client.chat.completions.create(model="tiny-gemma3n", temperature=0, max_tokens=MAX_TOKENS,
                                       messages=[{"role": "user", "content": [
                                           {"type": "input_audio",
                                            "input_audio": {"data": b64, "format": "wav"}},
                                           {"type": "text", "text": "What do you hear?"}]}])
    check("input_audio equals gemma run --audio", r.choices[0].message.content == audio_text)

    text = want[prompts[0]][0]
    stop = text[len(text) // 2:len(text) // 2 + 2]
    r = client.chat.completions.create(model="tiny-gemma3n", temperature=0, max_tokens=MAX_TOKENS,
                                       stop=[stop], messages=[{"role": "user", "content": prompts[0]}])
    check("stop ends the reply before the stop string",
          r.choices[0].message.content == text[:text.find(stop)] and
          r.choices[0].finish_reason == "stop", repr(r.choices[0].message.content))

    r = client.chat.completions.create(model="tiny-gemma3n", temperature=0, max_tokens=3,
                                       messages=[{"role": "user", "content": prompts[0]}])
    check("max_tokens gives finish_reason length", r.choices[0].finish_reason == "length" and
          r.usage.completion_tokens == 3)

    transcript_want, _ = gemma_run(args.cli, args.model, "Transcribe this audio.", audio=[wav],
                                   max_tokens=16)
    with open(wav, "rb") as f:
        t = client.audio.transcriptions.create(model="tiny-gemma3n", file=f)
    check("transcription equals gemma run on the clip", t.text == transcript_want)

    try:
        server.client("sk-wrong").chat.completions.create(
            model="tiny-gemma3n", messages=[{"role": "user", "content": "hi"}])
        check("a bad key is refused", False)
    except openai.AuthenticationError as e:
        check("a bad key gets 401", e.status_code == 401 and e.code == "invalid_api_key")
    try:
        client.chat.completions.create(model="tiny-gemma3n",
                                       messages=[{"role": "user", "content": "x" * 3_000_000}])
        check("an oversized body is refused", False)
    except openai.APIStatusError as e:
        check("an oversized body gets 413", e.status_code == 413)
    for name, kwargs in [
            ("n=2", {"n": 2}), ("temperature 5", {"temperature": 5}),
            ("a file:// image", {"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}]}),
            ("a local path image", {"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "/etc/passwd"}}]}]}),
            ("an undecodable image", {"messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})]:
        call = {"model": "tiny-gemma3n", "messages": [{"role": "user", "content": "hi"}], **kwargs}
        try:
            client.chat.completions.create(**call)
            check(f"{name} is refused", False)
        except openai.BadRequestError as e:
            check(f"{name} gets 400", e.status_code == 400 and isinstance(e.body, dict) and
                  e.body.get("message"), str(e.body))

    status, body, _ = server.request("POST", "/generate", json.dumps(
        {"messages": [{"role": "user", "content": prompts[1]}], "max_new_tokens": MAX_TOKENS,
         "temperature": 0}).encode(), {"Authorization": f"Bearer {KEY}"})
    check("/generate answers {'response'} as gemma run --greedy",
          status == 200 and json.loads(body) == {"response": want[prompts[1]][0]}, body[:200])
    status, body, _ = server.get("/health")
    check("/health answers healthy without a key",
          status == 200 and json.loads(body) == {"status": "healthy"})
    status, body, _ = server.get("/metrics", {"Authorization": f"Bearer {KEY}"})
    metrics = body.decode()
    check("/metrics counts requests and tokens", status == 200 and
          'gemma_requests_total{route="/v1/chat/completions",status="200"}' in metrics and
          "gemma_time_to_first_token_seconds_bucket" in metrics and
          re.search(r"^gemma_generation_tokens_total [1-9]", metrics, re.M))
    check("/metrics needs the key", server.get("/metrics")[0] == 401)

    # SIGTERM with a stream in flight: it finishes, then the server exits 0.
    result = {"chunks": []}
    started = threading.Event()

    def slow_stream():
        s = server.client().chat.completions.create(
            model="tiny-gemma3n", temperature=0, max_tokens=600, stream=True, messages=POEM)
        for chunk in s:
            result["chunks"].append(chunk)
            started.set()

    t = threading.Thread(target=slow_stream)
    t.start()
    check("the stream to interrupt has started", started.wait(60))
    rc = server.stop(timeout=300)
    t.join(60)
    check("SIGTERM: the stream in flight completes", result.get("chunks") and
          result["chunks"][-1].choices[0].finish_reason == "length" and
          len(result["chunks"]) > 100, str(len(result["chunks"])))
    check("SIGTERM: the server exits 0", rc == 0, f"exit {rc}")
    server.log.seek(0)
    log = server.log.read()
    check("the access log never holds prompts or replies",
          prompts[0] not in log and want[prompts[0]][0] not in log and '"status":200' in log)


def test_guards(args):
    # The poem keeps the one batch slot taken while the other requests arrive.
    server = Server(args.cli, args.model, "--max-batch", "1", "--max-waiting", "1",
                    "--rate-limit-requests", "8", "--default-max-tokens", "1900",
                    "--no-access-log")
    client = server.client()
    stream = iter(client.chat.completions.create(model="tiny-gemma3n", temperature=0,
                                                 stream=True, messages=POEM))
    next(stream)  # running now

    def short(_):
        try:
            client.chat.completions.create(model="tiny-gemma3n", temperature=0, max_tokens=1,
                                           messages=[{"role": "user", "content": "hi"}])
            return 200, None, None
        except openai.RateLimitError as e:
            return e.status_code, e.code, e.response.headers.get("retry-after")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(short, range(3)))  # one waits for the slot, two are refused
    list(stream)
    full = [r for r in results if r[0] == 429]
    check("a full queue gets 429 queue_full with Retry-After (openai client)",
          len(full) == 2 and all(r[1] == "queue_full" and r[2] for r in full) and
          [r[0] for r in results].count(200) == 1, str(results))
    # 4 requests so far count against the limit of 8 per window: the 9th is refused.
    limited = [short(i) for i in range(5)]
    check("the rate limit gives 429 rate_limit_exceeded with Retry-After",
          [r[0] for r in limited] == [200, 200, 200, 200, 429] and
          limited[-1][1] == "rate_limit_exceeded" and int(limited[-1][2]) > 0, str(limited))
    check("guards server exits 0 on SIGTERM", server.stop() == 0)


def test_drain_deadline(args):
    # Past --shutdown-grace the requests still running get an answer too: an SSE error event for a
    # stream, a 503 body otherwise.
    server = Server(args.cli, args.model, "--shutdown-grace", "0", "--no-access-log")
    client = server.client()
    stream = iter(client.chat.completions.create(model="tiny-gemma3n", temperature=0,
                                                 stream=True, messages=POEM))
    next(stream)
    plain = {}

    def non_streaming():
        try:
            server.client().chat.completions.create(model="tiny-gemma3n", temperature=0,
                                                    messages=POEM)
        except openai.APIStatusError as e:
            plain["status"] = e.status_code

    t = threading.Thread(target=non_streaming)
    t.start()
    deadline = time.time() + 30
    while time.time() < deadline:  # until both requests are in the batch
        metrics = server.get("/metrics")[1].decode()
        if re.search(r"^gemma_requests_running 2$", metrics, re.M):
            break
        time.sleep(0.05)
    rc = server.stop()
    t.join(60)
    try:
        list(stream)
        check("a stream cut by the drain deadline ends with an SSE error event", False)
    except openai.APIError as e:
        check("a stream cut by the drain deadline ends with an SSE error event",
              "shutting down" in str(e), str(e))
    check("a request cut by the drain deadline gets 503", plain.get("status") == 503, str(plain))
    check("drain-deadline server exits 0", rc == 0)


def test_startup_errors(args):
    bad = subprocess.run([args.cli, "serve", "--model", "/nonexistent/model", "--port", "0"],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    check("a model that cannot load ends serve with one error line, exit 1",
          bad.returncode == 1 and "gemma: [gemma." in bad.stderr and
          "/nonexistent/model" in bad.stderr, bad.stderr[-300:])
    for flags, says in [(["--request-timeout", "nan"], "request_timeout"),
                        (["--api-key", ""], "API key"),
                        (["--api-key-file", "/dev/zero"], "not a regular file"),
                        (["--host", "no.such.host.invalid"], "--host"),
                        (["--port", "70000"], "--port")]:
        bad = subprocess.run([args.cli, "serve", "--model", args.model, *flags], text=True,
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        check(f"serve {' '.join(flags)} is refused in one line, exit 1",
              bad.returncode == 1 and bad.stderr.startswith("gemma: [gemma.") and
              says in bad.stderr and bad.stderr.count("\n") == 1, bad.stderr[-300:])
    with tempfile.NamedTemporaryFile("w", delete=False) as secret:
        secret.write("recipe-secret\n")
    server = Server(args.cli, args.model, "--hmac-secret-file", secret.name, "--no-access-log")
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}],
                       "max_new_tokens": 2}).encode()
    signature = hmac.new(b"recipe-secret", body, hashlib.sha256).hexdigest()
    status, reply, _ = server.request("POST", "/generate", body)
    check("an unsigned body gets 401 invalid_signature",
          status == 401 and json.loads(reply)["error"]["code"] == "invalid_signature")
    status, _, _ = server.request("POST", "/generate", body, {"X-Signature": "0" * 64})
    check("a wrong signature gets 401", status == 401)
    status, _, _ = server.request("POST", "/generate", body, {"X-Signature": signature})
    check("the recipe's hex HMAC-SHA256 of the body is accepted", status == 200)
    os.unlink(secret.name)
    taken = subprocess.run([args.cli, "serve", "--model", args.model, "--port", str(server.port)],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    check("a port in use is a clear error, exit 1",
          taken.returncode == 1 and "cannot listen on 127.0.0.1:" in taken.stderr,
          taken.stderr[-300:])
    check("startup-errors server exits 0 on SIGTERM", server.stop() == 0)


def test_cancellation(args):
    # POEM runs 680 greedy tokens on the tiny model before its EOS (about 600 tokens/s here): far
    # past 0.2 s, and far more than a client that leaves after a moment lets it make.
    poem = json.dumps({"messages": POEM, "temperature": 0}).encode()
    server = Server(args.cli, args.model, "--request-timeout", "0.2", "--no-access-log")
    status, body, _ = server.request("POST", "/v1/chat/completions", poem)
    check("a request past --request-timeout gets 504",
          status == 504 and json.loads(body)["error"]["code"] == "timeout", body[:200])
    check("timeout server exits 0 on SIGTERM", server.stop() == 0)

    server = Server(args.cli, args.model, "--max-batch", "1")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/v1/chat/completions", poem)
    time.sleep(0.2)
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/v1/chat/completions", json.dumps(
        {**json.loads(poem), "stream": True}).encode())
    response = conn.getresponse()
    response.read1(64)  # the stream has begun
    conn.close()
    status, _, _ = server.request("POST", "/v1/chat/completions", json.dumps(
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}).encode())
    check("requests after the departed clients run", status == 200)
    check("cancellation server exits 0 on SIGTERM", server.stop() == 0)
    server.log.seek(0)
    left = [json.loads(line) for line in server.log if '"client_closed"' in line]
    check("both clients that left stopped their generation early",
          len(left) == 2 and all(0 < line["completion_tokens"] < POEM_TOKENS for line in left),
          str([(line["status"], line["completion_tokens"]) for line in left]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    try:
        test_main_server(args, args.data)
        test_guards(args)
        test_cancellation(args)
        test_drain_deadline(args)
        test_startup_errors(args)
    finally:
        for proc in SERVERS:
            if proc.poll() is None:
                proc.kill()
    print("all server checks passed")


if __name__ == "__main__":
    sys.exit(main())
