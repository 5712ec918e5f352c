#!/usr/bin/env python3
"""Hostile input for the `gemma` CLI, as a new user or an attacker would give it.

Each class of the hardening issue is a CTest test (`hostile.<class>`) running this script with
`--class <class>`. Every case must end with exit status 1 and exactly one stderr line
`gemma: [gemma.<category>] ...` that contains the expected text (which names the input), within
a time and a memory bound (the child's peak RSS from wait4). Python's standard library only: the
broken model directories, files and servers are made here, in the work directory.
"""
import argparse
import http.server
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

SECONDS = 60  # per case (--max-seconds)
MAX_RSS_MIB = 1536  # a tiny-model run takes about 550 MiB, mostly LibTorch and OpenCV (--max-rss-mib)


# -- building blocks ------------------------------------------------------------------------------

def copy_model(src, dst, edit_config=None):
    shutil.copytree(src, dst)
    if edit_config:
        path = os.path.join(dst, "config.json")
        with open(path) as f:
            config = json.load(f)
        edit_config(config)
        with open(path, "w") as f:
            json.dump(config, f)
    return dst


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n]), bytearray(data[8 + n:])


def write_safetensors(path, header, body):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(body))


def edit_weights(model, edit):
    path = os.path.join(model, "model.safetensors")
    header, body = read_safetensors(path)
    edit(header, body)
    write_safetensors(path, header, body)


def png(width, height):
    """A valid all-black RGB PNG of any size: rows of zeros compress to almost nothing."""
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload +
                struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    row = b"\0" * (1 + 3 * width)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def wav(samples):
    """16-bit mono 16 kHz PCM."""
    data = struct.pack("<%dh" % len(samples), *samples)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" +
            struct.pack("<I", len(data)) + data)


def write(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


def fifo(path):
    os.mkfifo(path)
    return path


def messages(path, content):
    return write(path, json.dumps([{"role": "user", "content": content}]))


class SilentServer:
    """Accepts connections and never answers: a hung media URL."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)


class RedirectServer:
    """Answers every request with a redirect to `target` (itself: a loop; or a file:// URL)."""

    def __init__(self, target=None):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(302)
                self.send_header("Location", server.target or "http://127.0.0.1:%d%s"
                                 % (server.port, self.path + "x"))
                self.end_headers()

            def log_message(self, *args):
                pass

        self.target = target
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


# -- the cases ------------------------------------------------------------------------------------
# Each: (name, setup(ctx) -> extra CLI arguments (the model given with --model), category, expected
# stderr text as a regular expression).

def run(ctx, model=None, *args):
    return ["run", "--model", model or ctx.model, "--max-new-tokens", "2", "--greedy", *args]


def checkpoints(ctx):
    w = ctx.work
    fp32_bits_of_nan = b"\x00\x00\xc0\x7f"

    def empty_index(d):
        os.remove(os.path.join(d, "model.safetensors"))
        write(os.path.join(d, "model.safetensors.index.json"), json.dumps({"weight_map": {}}))

    def nan_norm(header, body):
        t = header["model.language_model.norm.weight"]
        begin, end = t["data_offsets"]
        body[begin:end] = fp32_bits_of_nan * ((end - begin) // 4)

    def as_i32(header, body):
        header["model.language_model.norm.weight"]["dtype"] = "I32"

    def broken(name, setup, edit_config=None):
        d = copy_model(ctx.tiny, os.path.join(w, name), edit_config)
        if setup:
            setup(d)
        return d

    def text(key, value):
        return lambda c: c["text_config"].__setitem__(key, value)

    return [
        ("empty_weight_map", lambda: run(ctx, broken("empty_map", empty_index), "--prompt", "hi"),
         "weights", r"model.safetensors.index.json: weight_map names no tensors"),
        ("truncated_weights", lambda: run(ctx, broken("truncated", lambda d: os.truncate(
            os.path.join(d, "model.safetensors"), 3000)), "--prompt", "hi"),
         "weights", r"truncated/model.safetensors"),
        ("hidden_size_1e9", lambda: run(ctx, broken("hidden", None, text("hidden_size", 10**9)),
                                        "--prompt", "hi"),
         "weights", r"hidden/model.safetensors: checkpoint does not fit the model: \d+ tensors "
                    r"with the wrong shape"),
        ("vocab_size_1e12", lambda: run(ctx, broken("vocab", None, text("vocab_size", 10**12)),
                                        "--prompt", "hi"),
         "(weights|config)", r"vocab/"),
        ("intermediate_size_1e9", lambda: run(ctx, broken(
            "intermediate", None, text("intermediate_size", 10**9)), "--prompt", "hi"),
         "weights", r"intermediate/model.safetensors: checkpoint does not fit the model"),
        ("layers_1e9", lambda: run(ctx, broken("layers", None, text("num_hidden_layers", 10**9)),
                                   "--prompt", "hi"),
         "config", r"layers/config.json: text_config.num_hidden_layers: must be <= 4096"),
        ("config_number_1e400", lambda: run(ctx, broken("huge_number", lambda d: write(
            os.path.join(d, "config.json"), '{"model_type": "gemma3n", "text_config": '
            '{"rms_norm_eps": 1e400}}')), "--prompt", "hi"),
         "config", r"huge_number/config.json: invalid JSON: number overflow"),
        ("config_nested_deep", lambda: run(ctx, broken("deep", lambda d: write(
            os.path.join(d, "config.json"), "[" * 100000 + "]" * 100000)), "--prompt", "hi"),
         "config", r"deep/config.json: invalid JSON: nested more than 512 levels"),
        ("same_audio_and_image_token", lambda: run(ctx, broken(
            "same_ids", None, lambda c: c.__setitem__("audio_token_id", c["image_token_id"])),
            "--prompt", "hi"),
         "config", r"same_ids/config.json: audio_token_id: \d+ is also image_token_id"),
        ("int32_weights", lambda: run(ctx, broken("i32", lambda d: edit_weights(d, as_i32)),
                                      "--prompt", "hi"),
         "weights", r"not stored as floating point .*model.language_model.norm.weight: I32"),
        ("nan_weights_generate", lambda: run(ctx, broken("nan", lambda d: edit_weights(d, nan_norm)),
                                             "--prompt", "hi"),
         "generation", r"the model produced NaN logits at generation step 0"),
        ("nan_weights_check", lambda: ["info", "--model", broken(
            "nan_check", lambda d: edit_weights(d, nan_norm)), "--check-weights"],
         "weights", r"nan_check: 1 tensors hold NaN or infinite values: "
                    r"model.language_model.norm.weight \(64 NaN"),
        ("tokenizer_garbage", lambda: run(ctx, broken("bad_tokenizer", lambda d: write(
            os.path.join(d, "tokenizer.model"), b"\x0a\xff\xff\xff\xff\x0f garbage")),
            "--prompt", "hi"),
         "(processor|io)", r"bad_tokenizer/tokenizer.model"),
    ]


def devices(ctx):
    """Character devices and FIFOs in place of every file gemma reads."""
    w = ctx.work

    def model_with(name, file, target):
        d = copy_model(ctx.tiny, os.path.join(w, name))
        os.remove(os.path.join(d, file))
        if target == "fifo":
            fifo(os.path.join(d, file))
        else:
            os.symlink(target, os.path.join(d, file))
        return d

    cases = []
    for file in ["config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json",
                 "chat_template.jinja"]:
        for kind, target, what in [("fifo", "fifo", "a FIFO"),
                                   ("zero", "/dev/zero", "a character device")]:
            name = "%s_%s" % (file.replace(".", "_"), kind)
            cases.append((name, (lambda n=name, f=file, t=target:
                                 run(ctx, model_with(n, f, t), "--prompt", "hi")),
                          "io", re.escape(os.path.join(w, name, file)) + " is " + what))
    media = [("image", "--image"), ("audio", "--audio"), ("video", "--video")]
    for kind, flag in media:
        cases.append(("%s_fifo" % kind, (lambda k=kind, f=flag: run(
            ctx, None, f, fifo(os.path.join(w, k + ".fifo")), "--prompt", "hi")),
            "io", r"%s.fifo is a FIFO" % kind))
        cases.append(("%s_dev_zero" % kind, (lambda f=flag: run(
            ctx, None, f, "/dev/zero", "--prompt", "hi")),
            "io", r"/dev/zero is a character device"))
        cases.append(("%s_file_url_fifo" % kind, (lambda k=kind, f=flag: run(
            ctx, None, f, "file://" + fifo(os.path.join(w, k + "_url.fifo")), "--prompt", "hi")),
            "io", r"%s_url.fifo is a FIFO" % kind))
    cases.append(("messages_fifo", lambda: run(
        ctx, None, "--messages", fifo(os.path.join(w, "messages.fifo"))),
        "io", r"messages.fifo is a FIFO"))
    cases.append(("messages_dev_zero", lambda: run(ctx, None, "--messages", "/dev/zero"),
                  "io", r"/dev/zero is a character device"))
    cases.append(("template_messages_fifo", lambda: [
        "template", "--model", ctx.tiny, "--messages", fifo(os.path.join(w, "t_messages.fifo"))],
        "io", r"t_messages.fifo is a FIFO"))
    return cases


def templates(ctx):
    w = ctx.work

    def with_template(name, source):
        d = copy_model(ctx.tiny, os.path.join(w, name))
        write(os.path.join(d, "chat_template.jinja"), source)
        return d

    doubling = ("{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}")
    nested = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    recursion = "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"
    raising = "{{ raise_exception('no system turns, please') }}"
    return [
        ("string_doubling", lambda: run(ctx, with_template("doubling", doubling), "--prompt", "hi"),
         "processor", r"doubling/chat_template.jinja line 1, column \d+: TemplateBudgetError: "),
        ("nested_ranges", lambda: run(ctx, with_template("nested", nested), "--prompt", "hi"),
         "processor", r"nested/chat_template.jinja line 1, column \d+: TemplateBudgetError: the "
                      r"template did more than \d+ units of work"),
        ("recursion", lambda: run(ctx, with_template("recursion", recursion), "--prompt", "hi"),
         "processor", r"recursion/chat_template.jinja line 1, column \d+: RecursionError"),
        ("raise_exception", lambda: run(ctx, with_template("raising", raising), "--prompt", "hi"),
         "processor", r"raising/chat_template.jinja line 1, column 4: TemplateError: no system "
                      r"turns, please"),
        ("syntax_error", lambda: run(ctx, with_template("syntax", "{% if %}"), "--prompt", "hi"),
         "processor", r"syntax/chat_template.jinja line 1"),
    ]


def messages_class(ctx):
    w = ctx.work
    return [
        ("not_json", lambda: run(ctx, None, "--messages", write(os.path.join(w, "a.json"), "[{")),
         "invalid_argument", r"a.json: invalid JSON"),
        ("number_1e400", lambda: run(ctx, None, "--messages", write(
            os.path.join(w, "b.json"), '[{"role": "user", "content": 1e400}]')),
         "invalid_argument", r"b.json: invalid JSON: number overflow"),
        ("nested_deep", lambda: run(ctx, None, "--messages", write(
            os.path.join(w, "c.json"), "[" * 200000 + "]" * 200000)),
         "invalid_argument", r"c.json: invalid JSON: nested more than 512 levels"),
        ("template_nested_deep", lambda: ["template", "--model", ctx.tiny, "--messages", write(
            os.path.join(w, "d.json"), '[{"role": "user", "content": "hi", "x": '
            + "[" * 600 + "]" * 600 + "}]")],
         "invalid_argument", r"d.json: invalid JSON: nested more than 512 levels"),
        ("empty_conversation", lambda: run(ctx, None, "--messages", write(
            os.path.join(w, "e.json"), "[]")),
         "invalid_argument", r"e.json: the conversation is empty"),
        ("image_without_source", lambda: run(ctx, None, "--messages", messages(
            os.path.join(w, "f.json"), [{"type": "image"}])),
         "invalid_argument", r"f.json\[0\].content\[0\]: an image part needs one of"),
        ("invalid_utf8_file", lambda: run(ctx, None, "--messages", write(
            os.path.join(w, "g.json"), b'[{"role": "user", "content": "\xff\xfe"}]')),
         "invalid_argument", r"g.json: invalid JSON: .*UTF-8"),
        ("missing_file", lambda: run(ctx, None, "--messages", os.path.join(w, "nope.json")),
         "io", r"nope.json: no such file"),
    ]


def media(ctx):
    w = ctx.work
    silent = SilentServer()
    loop = RedirectServer()
    to_file = RedirectServer(target="file:///etc/passwd")
    return [
        ("png_header_16000x16000", lambda: run(ctx, None, "--image", write(
            os.path.join(w, "big.png"), png(16000, 16000)), "--prompt", "hi"),
         "processor", r"big.png: the PNG image is 16000x16000 pixels, more than the 178956970 "
                      r"pixels gemma decodes"),
        ("png_truncated", lambda: run(ctx, None, "--image", write(
            os.path.join(w, "cut.png"), png(64, 64)[:60]), "--prompt", "hi"),
         "processor", r"cut.png: the PNG image is corrupt or truncated"),
        ("png_corrupt_data", lambda: run(ctx, None, "--image", write(
            os.path.join(w, "corrupt.png"), corrupt_idat(png(64, 64))), "--prompt", "hi"),
         "processor", r"corrupt.png: the PNG image is corrupt or truncated \(.+\)"),
        ("not_an_image", lambda: run(ctx, None, "--image", write(
            os.path.join(w, "text.png"), "hello"), "--prompt", "hi"),
         "processor", r"text.png: not an image"),
        ("audio_one_sample", lambda: run(ctx, None, "--audio", write(
            os.path.join(w, "one.wav"), wav([1000])), "--prompt", "hi"),
         "processor", r"one.wav"),
        ("audio_not_audio", lambda: run(ctx, None, "--audio", write(
            os.path.join(w, "text.wav"), "hello"), "--prompt", "hi"),
         "processor", r"text.wav"),
        ("video_is_an_image", lambda: run(ctx, None, "--video", write(
            os.path.join(w, "still.avi"), png(8, 8)), "--prompt", "hi"),
         "processor", r"still.avi: an image, not a video"),
        ("video_truncated", lambda: run(ctx, None, "--video", write(
            os.path.join(w, "cut.avi"), open(ctx.video, "rb").read()[:3000]), "--prompt", "hi"),
         "processor", r"cut.avi"),
        ("url_never_answers", lambda: run(ctx, None, "--image", "http://127.0.0.1:%d/cat.png"
                                          % silent.port, "--http-timeout", "2", "--prompt", "hi"),
         "io", r"cannot download http://127.0.0.1:\d+/cat.png: no complete answer within 2 s"),
        ("url_redirect_loop", lambda: run(ctx, None, "--image", "http://127.0.0.1:%d/a.png?token=s"
                                          % loop.port, "--prompt", "hi"),
         "io", r"cannot download http://127.0.0.1:\d+/a.png: more than 5 redirects"),
        ("url_redirect_to_file", lambda: run(ctx, None, "--image", "http://127.0.0.1:%d/a.png"
                                             % to_file.port, "--prompt", "hi"),
         "io", r"cannot download http://127.0.0.1:\d+/a.png: .*(not supported|disabled)"),
    ]


def corrupt_idat(data):
    data = bytearray(data)
    start = data.find(b"IDAT") + 6
    for i in range(start, min(start + 16, len(data) - 16)):
        data[i] ^= 0x5A
    # Keep the CRC right, so that the damage is inside the compressed stream.
    length = struct.unpack(">I", data[start - 10:start - 6])[0]
    body = bytes(data[start - 6:start - 2 + length])
    data[start - 2 + length:start + 2 + length] = struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return bytes(data)


def flags(ctx):
    return [
        ("unknown_flag", lambda: run(ctx, None, "--prompt", "hi", "--bogus"),
         "invalid_argument", r"The following argument was not expected: --bogus"),
        ("seed_above_2_64", lambda: run(ctx, None, "--prompt", "hi", "--seed",
                                        "18446744073709551617"),
         "invalid_argument", r"--seed: 18446744073709551617 is outside \[0, 18446744073709551615\]"),
        ("max_new_tokens_2_63", lambda: ["run", "--model", ctx.model, "--prompt", "hi",
                                         "--max-new-tokens", "9223372036854775807"],
         "generation", r"max_new_tokens 9223372036854775807 exceeds the model's 2048 positions"),
        ("max_new_tokens_2_64", lambda: ["run", "--model", ctx.model, "--prompt", "hi",
                                         "--max-new-tokens", "18446744073709551616"],
         "invalid_argument", r"--max-new-tokens: 18446744073709551616 is outside"),
        ("prompt_not_utf8", lambda: run(ctx, None, "--prompt", b"\xff\xfebad"),
         "invalid_argument", r"--prompt is not valid UTF-8 \(byte 0xFF at offset 0\)"),
        ("temperature_not_a_number", lambda: run(ctx, None, "--prompt", "hi", "--temperature", "x"),
         "invalid_argument", r"--temperature"),
        ("greedy_and_temperature", lambda: run(ctx, None, "--prompt", "hi", "--temperature", "1"),
         "invalid_argument", r"--greedy excludes --temperature"),
        ("top_k_negative", lambda: ["run", "--model", ctx.model, "--prompt", "hi", "--top-k", "-1"],
         "invalid_argument", r"--top-k: -1 is outside"),
        ("no_cuda", lambda: run(ctx, None, "--prompt", "hi", "--device", "cuda"),
         "unsupported", r"device 'cuda' requested but no CUDA device is available"),
        ("missing_model", lambda: run(ctx, os.path.join(ctx.work, "no-model"), "--prompt", "hi"),
         "(io|invalid_argument)", r"no-model"),
        ("info_missing_model", lambda: ["info", "--model", os.path.join(ctx.work, "no-model")],
         "io", r"no-model/config.json: no such file"),
        ("template_missing_model", lambda: [
            "template", "--model", os.path.join(ctx.work, "no-model"), "--messages",
            messages(os.path.join(ctx.work, "m.json"), "hi")],
         "io", r"no-model/config.json: no such file"),
    ]


CLASSES = {"checkpoints": checkpoints, "devices": devices, "templates": templates,
           "messages": messages_class, "media": media, "flags": flags}


# -- the runner -----------------------------------------------------------------------------------

def run_case(ctx, name, args, category, pattern):
    argv = [ctx.cli] + [a if isinstance(a, bytes) else str(a) for a in args]
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    timer = threading.Timer(ctx.max_seconds, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    seconds = time.monotonic() - start
    rss_mib = usage.ru_maxrss / 1024
    code = os.waitstatus_to_exitcode(status)
    err = err.decode("utf-8", "replace")
    lines = err.splitlines()
    problems = []
    if code != 1:
        problems.append("exit status %d (expected 1)" % code)
    if len(lines) != 1:
        problems.append("%d stderr lines (expected 1)" % len(lines))
    expected = r"^gemma: \[gemma\.%s\] .*%s" % (category, pattern)
    if not lines or not re.search(expected, lines[0]):
        problems.append("stderr does not match %r" % expected)
    if seconds > ctx.max_seconds:
        problems.append("took %.1f s" % seconds)
    if rss_mib > ctx.max_rss_mib:
        problems.append("peak RSS %.0f MiB" % rss_mib)
    status_line = "ok  " if not problems else "FAIL"
    print("%s %-28s %5.1f s %6.0f MiB  %s" % (status_line, name, seconds, rss_mib,
                                             lines[0] if lines else ""))
    for p in problems:
        print("     " + p)
    if problems:
        print("     stderr: " + err.strip().replace("\n", "\n             "))
    return not problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--tiny", required=True, help="the bundled tiny model directory")
    parser.add_argument("--video", required=True, help="a small valid video")
    parser.add_argument("--work", required=True)
    parser.add_argument("--class", dest="cls", required=True, choices=sorted(CLASSES))
    parser.add_argument("--max-rss-mib", type=float, default=MAX_RSS_MIB)
    parser.add_argument("--max-seconds", type=float, default=SECONDS)
    ctx = parser.parse_args()
    shutil.rmtree(ctx.work, ignore_errors=True)
    os.makedirs(ctx.work)
    ctx.model = ctx.tiny
    failures = 0
    cases = CLASSES[ctx.cls](ctx)
    for name, setup, category, pattern in cases:
        if not run_case(ctx, name, setup(), category, pattern):
            failures += 1
    print("%d passed, %d failed" % (len(cases) - failures, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
